"""nn.MultiheadAttention loads torch.nn.MultiheadAttention's state_dict (packed
in_proj_weight / in_proj_bias, or separate q/k/v_proj_weight), strict too, from
arrays and from safetensors, and gives PyTorch's outputs and gradients."""
import numpy as np
import pytest

import microattn as ma
from microattn import nn

torch = pytest.importorskip("torch")


def _load_from_torch(kwargs, convert=lambda sd: {k: v.numpy() for k, v in sd.items()}):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, **kwargs).double()
    ours = nn.MultiheadAttention(8, 2, **kwargs).double()
    result = ours.load_state_dict(convert(theirs.state_dict()), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    return ours, theirs


def _assert_same_attention(ours, theirs, kdim=8, vdim=8):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 2, 8)), rng.standard_normal((5, 2, kdim)),
              rng.standard_normal((5, 2, vdim))]
    ma_in = [ma.tensor(a, requires_grad=True) for a in arrays]
    th_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    (mo, mw), (to, tw) = ours(*ma_in), theirs(*th_in)
    np.testing.assert_allclose(mo.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mw.detach().numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    mo.sum().backward()
    to.sum().backward()
    for m, t in zip(ma_in, th_in):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"kdim": 3, "vdim": 5}])
def test_torch_state_dict_as_arrays_loads_strictly(kwargs):
    ours, theirs = _load_from_torch(kwargs)
    _assert_same_attention(ours, theirs, kwargs.get("kdim", 8), kwargs.get("vdim", 8))
    assert {"q_proj.weight", "k_proj.weight", "v_proj.weight"} <= set(ours.state_dict())


def test_torch_state_dict_through_safetensors_loads(tmp_path):
    from safetensors.numpy import load_file
    from safetensors.torch import save_file

    def through_file(sd):
        save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "mha.safetensors")
        return load_file(tmp_path / "mha.safetensors")
    _assert_same_attention(*_load_from_torch({}, through_file))


def test_a_model_holding_attention_loads_a_torch_checkpoint_and_exports_it_back(tmp_path):
    from safetensors.numpy import load_file
    from microattn.train.export import export_safetensors

    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    ours = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 5, 8))
    np.testing.assert_allclose(ours(ma.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    export_safetensors(ours, tmp_path / "out.safetensors")  # PyTorch's names: round trip
    exported = load_file(tmp_path / "out.safetensors")
    assert set(exported) == set(theirs.state_dict())
    again = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    again.load_state_dict(exported)
    for (name, a), b in zip(again.state_dict().items(), ours.state_dict().values()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=name)


def test_a_packed_weight_of_the_wrong_size_is_one_clear_error():
    sd = nn.MultiheadAttention(8, 2).state_dict()
    sd = {k: v for k, v in sd.items() if not k.startswith(("q_proj", "k_proj", "v_proj"))}
    sd["in_proj_weight"] = np.zeros((3 * 4, 8))
    sd["in_proj_bias"] = np.zeros(24)
    with pytest.raises(RuntimeError, match="size mismatch for q_proj.weight"):
        nn.MultiheadAttention(8, 2).load_state_dict(sd)
