"""Layers: gradcheck w.r.t. inputs and parameters, and values and gradients against
PyTorch with the same weights, in float64; nn.utils gradient clipping."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from microattn import nn
from microattn.gradcheck import gradient_errors
from microattn.nn.positional import sinusoidal_table

from helpers import assert_close, leaf, shapes, transposed_leaf
from helpers import torch_parity

torch = pytest.importorskip("torch")
tnn = torch.nn

sizes = st.integers(1, 5)


def gradcheck_module(module, *inputs):
    """gradcheck of ``module(*inputs)`` (in float64) w.r.t. the inputs that require
    grad and every parameter: the parameters are passed to gradcheck as inputs,
    and the module reads the very same tensors."""
    module.double()
    count = len(inputs)
    return ma.gradcheck(lambda *args: module(*args[:count]), [*inputs, *module.parameters()])


def randomise(module, rng):
    """Give every parameter random values, so that none sits at a special point (ones, zeros)."""
    for p in module.parameters():
        p.detach().numpy()[...] = rng.standard_normal(p.shape)
    return module


def module_parity(ours, theirs, *inputs, seed=0):
    """Copy our weights into the PyTorch module (names must match), run both on the
    same float64 inputs, and compare outputs, input gradients and parameter
    gradients for a random projection of the output. Float inputs get gradients;
    integer inputs are passed as they are. Returns the worst relative error."""
    ours.double()
    theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in ours.state_dict().items()})
    ours_in = [leaf(x) if x.dtype.kind == "f" else x for x in inputs]
    theirs_in = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    out, expected = ours(*ours_in), theirs(*theirs_in)
    assert_close(out.detach().numpy(), expected.detach().numpy(), what="forward value")
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(weights)
    expected.backward(torch.tensor(weights))
    pairs = [(f"input {i}", m.grad, t.grad) for i, (m, t) in enumerate(zip(ours_in, theirs_in))
             if isinstance(m, ma.Tensor)]
    theirs_params = dict(theirs.named_parameters())
    pairs += [(name, p.grad, theirs_params[name].grad) for name, p in ours.named_parameters()]
    worst = 0.0
    for what, actual, expected_grad in pairs:
        expected_grad = expected_grad.numpy()
        assert_close(actual, expected_grad, what=f"gradient of {what}")
        scale = np.maximum(np.abs(expected_grad), 1e-300)
        worst = max(worst, float(np.max(np.abs(actual - expected_grad) / scale, initial=0)))
    return worst


# -- Linear ---------------------------------------------------------------------------

@settings(max_examples=15)
@given(batch=shapes(0, 2, 1, 3), n_in=sizes, n_out=sizes, bias=st.booleans())
def test_linear_gradcheck(batch, n_in, n_out, bias):
    rng = np.random.default_rng(0)
    layer = nn.Linear(n_in, n_out, bias=bias)
    assert gradcheck_module(layer, leaf(rng.standard_normal(batch + (n_in,))))


@given(batch=shapes(0, 3, 1, 4), n_in=sizes, n_out=sizes, bias=st.booleans())
def test_linear_matches_torch(batch, n_in, n_out, bias):
    x = np.random.default_rng(1).standard_normal(batch + (n_in,))
    module_parity(nn.Linear(n_in, n_out, bias=bias), tnn.Linear(n_in, n_out, bias=bias), x)


def test_linear_on_a_transposed_input():
    rng = np.random.default_rng(2)
    layer = nn.Linear(3, 2).double()
    assert gradcheck_module(layer, transposed_leaf(rng.standard_normal((3, 4)).T))


def test_linear_shapes_dtype_and_errors():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer(ma.ones(5, 3)).dtype == np.float32
    assert layer.double()(ma.ones(5, 3, dtype=np.float64)).dtype == np.float64
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(2, 3\)"):
        layer(ma.ones(5, 4, dtype=np.float64))


# -- Embedding --------------------------------------------------------------------------

@settings(max_examples=15)
@given(idx_shape=shapes(1, 2, 1, 4), num=st.integers(2, 6), dim=sizes,
       padding=st.one_of(st.none(), st.integers(-2, 1)))
def test_embedding_gradcheck(idx_shape, num, dim, padding):
    idx = np.random.default_rng(3).integers(0, num, size=idx_shape)
    layer = nn.Embedding(num, dim, padding_idx=padding).double()
    if padding is None:
        assert gradcheck_module(layer, idx)
        return
    # By design the padding row gets no gradient although the output holds it:
    # compare every other row, and check that row's gradient is zero.
    ((_, analytic, numeric),) = gradient_errors(lambda w: layer(idx), [layer.weight])
    rows = np.arange(num) != layer.padding_idx
    np.testing.assert_allclose(analytic[rows], numeric[rows], rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(analytic[layer.padding_idx], 0)


@given(idx_shape=shapes(1, 3, 1, 5), num=st.integers(2, 6), dim=sizes,
       padding=st.one_of(st.none(), st.integers(-2, 1)))
def test_embedding_matches_torch(idx_shape, num, dim, padding):
    idx = np.random.default_rng(4).integers(0, num, size=idx_shape)
    ours = nn.Embedding(num, dim, padding_idx=padding)
    module_parity(ours, tnn.Embedding(num, dim, padding_idx=padding), idx)


def test_embedding_padding_row_stays_zero_without_gradient():
    layer = nn.Embedding(5, 3, padding_idx=0).double()
    np.testing.assert_array_equal(layer.weight.detach().numpy()[0], 0)
    idx = np.array([[0, 2, 0], [2, 1, 0]])
    out = layer(idx)
    np.testing.assert_array_equal(out.detach().numpy()[0, 0], 0)
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(layer.weight.grad[0], 0)
    np.testing.assert_array_equal(layer.weight.grad[2], 2)  # looked up twice: both add
    np.testing.assert_array_equal(layer.weight.grad[[3, 4]], 0)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)


# -- LayerNorm ----------------------------------------------------------------------------

norm_cases = st.tuples(shapes(0, 2, 1, 3), shapes(1, 2, 2, 4), st.booleans(), st.booleans())


@settings(max_examples=15)
@given(case=norm_cases)
def test_layer_norm_gradcheck(case):
    batch, normalized, affine, bias = case
    rng = np.random.default_rng(5)
    layer = randomise(nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias), rng)
    assert gradcheck_module(layer, leaf(rng.standard_normal(batch + normalized)))


@given(case=norm_cases, eps=st.sampled_from([1e-5, 1e-2]))
def test_layer_norm_matches_torch(case, eps):
    batch, normalized, affine, bias = case
    rng = np.random.default_rng(6)
    ours = randomise(nn.LayerNorm(normalized, eps, affine, bias), rng)
    module_parity(ours, tnn.LayerNorm(normalized, eps, affine, bias),
                  rng.standard_normal(batch + normalized))


def test_layer_norm_parameters():
    layer = nn.LayerNorm(4)
    assert layer.normalized_shape == (4,) and layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.detach().numpy(), np.ones(4))
    np.testing.assert_array_equal(layer.bias.detach().numpy(), np.zeros(4))
    assert [n for n, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert list(nn.LayerNorm((2, 3), elementwise_affine=False).parameters()) == []


# -- activations and dropout -------------------------------------------------------------

activations = [(nn.ReLU, tnn.ReLU, {}), (nn.GELU, tnn.GELU, {}),
               (nn.GELU, tnn.GELU, {"approximate": "tanh"})]


@pytest.mark.parametrize("ours, theirs, kwargs", activations)
@settings(max_examples=10)
@given(shape=shapes(0, 3, 1, 4))
def test_activations_match_torch_and_gradcheck(ours, theirs, kwargs, shape):
    x = np.random.default_rng(7).uniform(0.05, 3.0, size=shape)
    x *= np.where(np.random.default_rng(8).random(shape) < 0.5, -1, 1)  # away from relu's kink
    module_parity(ours(**kwargs), theirs(**kwargs), x)
    assert gradcheck_module(ours(**kwargs), leaf(x))


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        nn.GELU("erf")


def test_dropout_in_eval_is_the_identity_as_torch():
    x = np.random.default_rng(9).standard_normal((3, 4))
    assert module_parity(nn.Dropout(0.7).eval(), tnn.Dropout(0.7).eval(), x) == 0.0


def test_dropout_in_training():
    ma.manual_seed(0)
    layer = nn.Dropout(0.25).double()
    x = ma.ones(400, 250, dtype=np.float64)
    y = layer(x).detach().numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01  # 100,000 draws: sigma 0.0014
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-15)
    # a fixed mask (re-seeded on every call) is differentiated exactly
    small = leaf(np.random.default_rng(10).standard_normal((3, 5)))
    assert ma.gradcheck(lambda t: (ma.manual_seed(1), layer(t))[1], [small])
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).detach().numpy(), 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# -- positions ----------------------------------------------------------------------------

@pytest.mark.parametrize("d_model", [1, 4, 7])
def test_sinusoidal_table_is_the_papers_formula(d_model):
    table = sinusoidal_table(12, d_model)
    for pos in range(12):
        for i in range(d_model):
            angle = pos / 10000 ** ((i - i % 2) / d_model)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert table[pos, i] == pytest.approx(expected, rel=1e-12, abs=1e-13)


def test_positional_encoding_adds_the_table():
    layer = nn.PositionalEncoding(6, max_len=10)
    assert layer.pe.dtype == np.float32 and layer.pe.shape == (10, 6)
    layer.double()  # the table was rounded to float32 when made, as PyTorch's would be
    x = leaf(np.random.default_rng(11).standard_normal((2, 4, 6)))
    table = sinusoidal_table(10, 6).astype(np.float32).astype(np.float64)
    assert_close(layer(x).detach().numpy(), x.detach().numpy() + table[:4], rtol=1e-15,
                 what="x + PE")
    assert gradcheck_module(layer, x)
    assert layer(ma.zeros(3, 6, dtype=np.float64)).shape == (3, 6)  # unbatched (T, E)
    with pytest.raises(ValueError, match="max_len=10"):
        layer(ma.zeros(1, 11, 6, dtype=np.float64))


def test_positional_encoding_dropout_follows_the_mode():
    layer = nn.PositionalEncoding(4, max_len=8, dropout=0.5).double()
    x = ma.zeros(2, 8, 4, dtype=np.float64)
    assert (layer(x).detach().numpy() == 0).mean() > 0.2
    np.testing.assert_array_equal(layer.eval()(x).detach().numpy(),
                                  np.broadcast_to(layer.pe.detach().numpy(), x.shape))


def test_learned_positional_embedding():
    rng = np.random.default_rng(12)
    layer = nn.LearnedPositionalEmbedding(6, 3)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.shape == (6, 3) and layer.weight.dtype == np.float32
    layer.double()
    x = leaf(rng.standard_normal((2, 4, 3)))
    assert_close(layer(x).detach().numpy(), x.detach().numpy() + layer.weight.detach().numpy()[:4],
                 what="x + weight[:T]")
    assert gradcheck_module(layer, x)
    layer.zero_grad()
    layer(x).backward(np.ones((2, 4, 3)))
    np.testing.assert_array_equal(layer.weight.grad[:4], 2)  # summed over the batch
    np.testing.assert_array_equal(layer.weight.grad[4:], 0)  # positions not used
    with pytest.raises(ValueError, match="max_len=6"):
        layer(ma.zeros(1, 7, 3, dtype=np.float64))


# -- gradient clipping -------------------------------------------------------------------

GRAD_SHAPES = [(3, 4), (5,), (2, 2, 2)]


def grads_pair(seed, scale):
    rng = np.random.default_rng(seed)
    ours = [nn.Parameter(np.zeros(s)) for s in GRAD_SHAPES]
    theirs = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in GRAD_SHAPES]
    for p, t in zip(ours, theirs):
        p.grad = rng.standard_normal(p.shape) * scale
        t.grad = torch.tensor(np.array(p.grad))
    ours.append(nn.Parameter(np.zeros(2)))  # no gradient: skipped
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = grads_pair(13, scale=2.0)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, ma.Tensor) and total.shape == () and total.dtype == np.float64
    assert_close(total.detach().numpy(), expected.numpy(), what="total norm")
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad.numpy(), what="clipped gradient")
    assert ours[-1].grad is None


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(np.zeros(3))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients at all
    p.grad = np.array([3.0, 4.0, 0.0])
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_allclose(p.grad, [0.6, 0.8, 0.0], rtol=1e-6)
    p.grad = np.array([np.inf, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    ours, theirs = grads_pair(14, scale=1.0)
    nn.utils.clip_grad_value_(ours, 0.3)
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad.numpy(), what="clipped gradient")


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


ACTIVATIONS = ["Identity", "Tanh", "Sigmoid", "SiLU", "LeakyReLU", "ELU", "Softplus"]


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


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_modules_match_torch(name, rng):
    x = rng.uniform(0.2, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    torch_parity(lambda a: getattr(nn, name)()(a), lambda a: getattr(torch.nn, name)()(a), [x])
    torch_parity(lambda a: nn.Softmax(dim=0)(a), lambda a: torch.nn.Softmax(dim=0)(a), [x])
    torch_parity(lambda a: nn.LogSoftmax(dim=1)(a), lambda a: torch.nn.LogSoftmax(dim=1)(a),
                 [x])


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


@pytest.mark.parametrize("layer, args, match", [
    ("Linear", (-1, 3), "Linear: in_features must be non-negative, got -1"),
    ("Linear", (2.5, 3), "Linear: in_features must be an int, got 2.5"),
    ("Embedding", (3, -2), "Embedding: embedding_dim must be non-negative, got -2"),
])
def test_layer_sizes_are_checked_by_name(layer, args, match):
    raises_like_torch(lambda: getattr(nn, layer)(*args), lambda: getattr(torch.nn, layer)(*args),
                      match)


@pytest.mark.parametrize("layer", [lambda: nn.PositionalEncoding(4),
                                   lambda: nn.LearnedPositionalEmbedding(10, 4)],
                         ids=["sinusoidal", "learned"])
def test_positional_layers_name_a_wrong_input_shape(layer):
    module = layer()
    name = type(module).__name__
    for shape in [(2, 3, 5), (4,), ()]:
        with pytest.raises(ValueError,
                           match=rf"{name}: input of shape .* should be \(\.\.\., T, 4\)"):
            module(ma.zeros(shape))
    assert module(ma.zeros(2, 0, 4)).shape == (2, 0, 4)   # no positions: nothing added
    assert module(ma.zeros(3, 4)).shape == (3, 4)
