"""The modules added for PyTorch compatibility, against PyTorch: nn.Transformer,
the loss and activation modules, and in-place writes on hypothesis shapes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microattn as ma
from helpers import broadcastable_pair, leaf, torch_parity
from layer_helpers import module_parity
from microattn import nn

torch = pytest.importorskip("torch")
seeds = st.integers(0, 2**32 - 1)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")  # PyTorch's speed hint
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(batch_first, norm_first, rng):
    options = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                   dim_feedforward=16, dropout=0.0, batch_first=batch_first,
                   norm_first=norm_first)
    ours, theirs = nn.Transformer(**options), torch.nn.Transformer(**options)
    src_shape, tgt_shape = ((2, 5, 8), (2, 4, 8)) if batch_first else ((5, 2, 8), (4, 2, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    torch_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(mask.data, torch_mask.numpy())
    module_parity(ours, theirs,
                  lambda s, t: ours(s, t, tgt_mask=mask.double()),
                  lambda s, t: theirs(s, t, tgt_mask=torch_mask),
                  [rng.standard_normal(src_shape), rng.standard_normal(tgt_shape)])


def test_transformer_initialises_matrices_xavier_uniform():
    ma.manual_seed(0)
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=32)
    weight = model.encoder.layers[0].linear1.weight.data
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound


LOSSES = {
    "CrossEntropyLoss": (lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
                         lambda: torch.nn.CrossEntropyLoss(label_smoothing=0.1), "classes"),
    "NLLLoss": (lambda: nn.NLLLoss(reduction="sum"), lambda: torch.nn.NLLLoss(reduction="sum"),
                "classes"),
    "MSELoss": (nn.MSELoss, torch.nn.MSELoss, "same"),
    "L1Loss": (nn.L1Loss, torch.nn.L1Loss, "same"),
    "KLDivLoss": (lambda: nn.KLDivLoss(reduction="batchmean"),
                  lambda: torch.nn.KLDivLoss(reduction="batchmean"), "probs"),
    "BCELoss": (nn.BCELoss, torch.nn.BCELoss, "binary"),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, "probs"),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_modules_match_torch(name, rng):
    make, make_torch, kind = LOSSES[name]
    x = rng.uniform(0.05, 0.95, (4, 3)) if kind == "binary" else rng.standard_normal((4, 3))
    if kind == "classes":
        target = rng.integers(0, 3, 4)
        torch_parity(lambda a: make()(a, ma.tensor(target)),
                     lambda a: make_torch()(a, torch.tensor(target)), [x])
        return
    target = rng.uniform(0.05, 0.95, (4, 3)) if kind in ("probs", "binary") \
        else rng.standard_normal((4, 3))
    torch_parity(lambda a, t: make()(a, t), lambda a, t: make_torch()(a, t), [x, target])


ACTIVATIONS = ["Identity", "Tanh", "Sigmoid", "SiLU", "LeakyReLU", "ELU", "Softplus"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_modules_match_torch(name, rng):
    x = rng.uniform(0.2, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    torch_parity(lambda a: getattr(nn, name)()(a), lambda a: getattr(torch.nn, name)()(a), [x])
    torch_parity(lambda a: nn.Softmax(dim=0)(a), lambda a: torch.nn.Softmax(dim=0)(a), [x])
    torch_parity(lambda a: nn.LogSoftmax(dim=1)(a), lambda a: torch.nn.LogSoftmax(dim=1)(a),
                 [x])


INPLACE = {
    "add_": lambda h, w: h.add_(w, alpha=0.5),
    "sub_": lambda h, w: h.sub_(w),
    "mul_": lambda h, w: h.mul_(w),
    "div_": lambda h, w: h.div_(w * w + 1.0),
    "iadd": lambda h, w: h.__iadd__(w),
    "imul": lambda h, w: h.__imul__(w),
    "copy_": lambda h, w: h.copy_(w * 3.0),
    "masked_fill_": lambda h, w: h.masked_fill_(h.detach() > 0, 0.5),
    "clamp_": lambda h, w: h.clamp_(-0.5, 0.5),
    "setitem_mask": lambda h, w: h.__setitem__(h.detach() < 0, 2.0) or h,
}


@pytest.mark.parametrize("name", sorted(INPLACE))
@given(pair=broadcastable_pair(1, 3, 4), seed=seeds)
def test_inplace_on_a_graph_tensor_gradcheck_and_torch(name, pair, seed):
    """h = x * 1.5 written in place by the op, with w broadcast into h's shape."""
    full = np.broadcast_shapes(*pair)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.3, 2.0, full) * rng.choice([-1.0, 1.0], full)
    w = rng.standard_normal(pair[1])

    def fn(x, w):
        h = x * 1.5
        return INPLACE[name](h, w).exp()

    assert ma.gradcheck(fn, [leaf(x), leaf(w)])
    torch_parity(fn, fn, [x, w])


@given(shape=st.lists(st.integers(2, 4), min_size=2, max_size=3).map(tuple), seed=seeds)
def test_setitem_with_a_tensor_value_gradcheck_and_torch(shape, seed):
    rng = np.random.default_rng(seed)
    x, v = rng.standard_normal(shape), rng.standard_normal(shape[1:])

    def fn(x, v):
        h = x * 2.0
        h[1] = v * v          # a basic index: v broadcast into row 1
        h[0, ..., [0, 1]] = 1.0  # PyTorch's int-then-list rule
        return h
    assert ma.gradcheck(fn, [leaf(x), leaf(v)])
    torch_parity(fn, fn, [x, v])
