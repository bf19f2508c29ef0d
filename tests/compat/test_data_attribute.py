"""``.data`` as PyTorch has it: a Tensor sharing the memory, cut from the graph,
whose writes bypass autograd (no graph, no version count); ``.numpy()`` is the array."""
import numpy as np
import pytest

import microattn as ma

torch = pytest.importorskip("torch")

SNIPPETS = {
    "clone": "x = lib.ones(3, requires_grad=True) * 2\nout = x.data.clone()",
    "grad_data_zero_": ("w = lib.ones(2, requires_grad=True)\n(w * 3).sum().backward()\n"
                        "w.grad.data.zero_()\nout = w.grad"),
    "numpy": "out = lib.ones(2, requires_grad=True).data.numpy()",
    "copy_into_parameter": ("m = lib.nn.Linear(2, 2)\nm.weight.data.copy_(lib.eye(2))\n"
                            "m.bias.data.zero_()\nout = m(lib.tensor([[1.0, 2.0]]))"),
    "assign": "p = lib.nn.Parameter(lib.zeros(2))\np.data = lib.ones(3)\nout = p",
    "shares_memory": "x = lib.zeros(3)\nd = x.data\nd[1] = 5.0\nout = x",
    "no_grad": "out = (lib.ones(2, requires_grad=True).data.requires_grad, )",
    "write_bypasses_versions": ("x = lib.ones(3, requires_grad=True)\ny = x.exp()\n"
                                "y.data.mul_(2)\ny.sum().backward()\nout = x.grad"),
    "old_style_sgd": ("w = lib.tensor([1.0, -2.0], requires_grad=True)\n(w ** 2).sum().backward()\n"
                      "w.data.add_(-0.1 * w.grad.data)\nout = w.detach()"),
}


def _answer(code, lib):
    names = {"lib": lib}
    exec(code, names)
    out = names["out"]
    if isinstance(out, lib.Tensor):
        return out.detach().numpy()
    return out


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_data_behaves_as_pytorchs(name):
    ours, theirs = _answer(SNIPPETS[name], ma), _answer(SNIPPETS[name], torch)
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float),
                               rtol=1e-6)


def test_data_is_a_tensor_and_numpy_is_the_array():
    x = ma.ones(2, 2, requires_grad=True)
    assert isinstance(x.data, ma.Tensor) and not x.data.requires_grad
    assert x.data.grad_fn is None and np.shares_memory(x.data.numpy(), x.detach().numpy())
    with pytest.raises(TypeError, match="must be set to a tensor or an ndarray"):
        x.data = [1.0, 2.0]
