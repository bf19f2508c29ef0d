"""Losses: F.cross_entropy (fused and composed), F.nll_loss, F.mse_loss.

PyTorch's layout: logits (N, C) with targets (N,), or (B, C, T) with (B, T)
(class dim 1). gradcheck in float64,
values and gradients equal to PyTorch's to 1e-10 relative, fused and composed
agreeing to 1e-12, for every reduction, with ignore_index and label smoothing.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from microattn import functional as F
from helpers import FUSED, leaf_pair, assert_same_as_torch, assert_close, assert_fused_matches_composed, float16_parity, leaf, outputs_and_grads, shapes, torch_parity, transposed_leaf
import warnings

torch = pytest.importorskip("torch")
TF = torch.nn.functional

IGNORE = -100
REDUCTIONS = ["mean", "sum", "none"]


@st.composite
def classification_case(draw):
    """(logits, target, label_smoothing): logits (N, C) or (B, C, T), target (N,)
    or (B, T), some targets ignored (but at least one counted)."""
    batch = draw(shapes(min_dims=1, max_dims=2, max_side=4))
    num_classes = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    logits = rng.standard_normal(batch[:1] + (num_classes,) + batch[1:]) * 3
    target = rng.integers(0, num_classes, size=batch)
    target[rng.random(batch) < 0.3] = IGNORE
    target.flat[0] = 0
    return logits, target, draw(st.sampled_from([0.0, 0.1, 0.5]))


def torch_cross_entropy(target, **kwargs):
    def fn(logits):
        return TF.cross_entropy(logits, torch.tensor(target), **kwargs)
    return fn


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(classification_case())
@settings(max_examples=10)
def test_cross_entropy_matches_torch(reduction, case):
    logits, target, smoothing = case
    torch_parity(lambda z: F.cross_entropy(z, target, IGNORE, smoothing, reduction),
                 torch_cross_entropy(target, ignore_index=IGNORE, label_smoothing=smoothing,
                                     reduction=reduction),
                 [logits])


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(classification_case())
@settings(max_examples=6)
def test_cross_entropy_gradchecks(reduction, fused, case):
    logits, target, smoothing = case
    assert ma.gradcheck(
        lambda z: F.cross_entropy(z, target, IGNORE, smoothing, reduction, fused=fused),
        [transposed_leaf(logits)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(classification_case())
@settings(max_examples=8)
def test_fused_and_composed_cross_entropy_agree(reduction, case):
    logits, target, smoothing = case
    assert_fused_matches_composed(
        lambda z, fused: F.cross_entropy(z, target, IGNORE, smoothing, reduction, fused=fused),
        [logits])


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_all_ignored_mean_is_nan_with_zero_gradient_as_torch(fused, smoothing, rng):
    logits = rng.standard_normal((3, 4))
    target = np.full(3, IGNORE)
    expected = TF.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                label_smoothing=smoothing)
    assert torch.isnan(expected)
    z = leaf(logits)
    loss = F.cross_entropy(z, target, label_smoothing=smoothing, fused=fused)
    loss.backward()
    assert np.isnan(loss.item())
    assert np.array_equal(z.grad, np.zeros((3, 4)))
    for reduction in ("sum", "none"):
        assert_close(F.cross_entropy(z, target, reduction=reduction, fused=fused).detach().numpy(),
                     np.zeros(() if reduction == "sum" else 3), what=reduction)


def test_unbatched_logits_take_a_scalar_target(rng):
    logits = rng.standard_normal(5)
    torch_parity(lambda z: F.cross_entropy(z, 3, label_smoothing=0.1),
                 lambda z: TF.cross_entropy(z, torch.tensor(3), label_smoothing=0.1), [logits])


def test_large_logits_stay_finite(rng):
    logits = rng.standard_normal((4, 6)) * 1e4
    target = np.array([0, 1, 2, 3])
    for fused in (True, False):
        z = leaf(logits)
        loss = F.cross_entropy(z, target, fused=fused)
        loss.backward()
        assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad))
    torch_parity(lambda z: F.cross_entropy(z, target), torch_cross_entropy(target), [logits])


@pytest.mark.parametrize("fused", [True, False])
def test_cross_entropy_keeps_float32(fused):
    z = ma.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(z, ma.tensor([0, 1, 3]), label_smoothing=0.1, fused=fused)
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32


@pytest.mark.parametrize("fused", [True, False])
def test_cross_entropy_bad_arguments_say_what_was_expected(fused):
    z = ma.ones(2, 3)
    with pytest.raises(ValueError,
                       match=r"(CrossEntropy|cross_entropy).*target of shape \(3,\).*\(2, 3\)"):
        F.cross_entropy(z, np.zeros(3, dtype=np.int64), fused=fused)
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(z, np.array([0, 3]), fused=fused)
    with pytest.raises(RuntimeError, match="integer class indices"):  # as PyTorch
        F.cross_entropy(z, np.array([0.0, 1.0]), fused=fused)
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(z, np.array([0, 1]), reduction="avg", fused=fused)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(z, np.array([0, 1]), label_smoothing=1.5, fused=fused)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_dim_is_dim_1_even_when_it_equals_the_sequence_length(fused, reduction, rng):
    """(B, C, T) with C == T: a class-last reading would give another loss silently."""
    logits = rng.standard_normal((2, 4, 4)) * 2
    target = rng.integers(0, 4, size=(2, 4))
    torch_parity(lambda z: F.cross_entropy(z, target, reduction=reduction, fused=fused),
                 torch_cross_entropy(target, reduction=reduction), [logits])
    assert ma.gradcheck(lambda z: F.cross_entropy(z, target, reduction=reduction, fused=fused),
                        [leaf(logits)])


@pytest.mark.parametrize("fused", [True, False])
def test_cross_entropy_float16_and_float32_match_torch_on_large_spread(fused, rng):
    logits = np.array([[20.0, 0.0, -30.0], [0.0, 1.0, 60.0], [-70.0, 5.0, 5.0]])
    target = np.array([1, 0, 2])
    for dtype, tdtype, tol in ((np.float16, torch.float16, 2e-3), (np.float32, torch.float32,
                                                                      1e-6)):
        z = ma.tensor(logits.astype(dtype), requires_grad=True)
        zt = torch.tensor(logits.astype(np.float32), requires_grad=True)
        loss = F.cross_entropy(z, target, reduction="none", fused=fused)
        loss.sum().backward()
        expected = TF.cross_entropy(zt, torch.tensor(target), reduction="none")
        expected.sum().backward()
        assert loss.dtype == dtype and z.grad.dtype == dtype
        assert_close(loss.detach().numpy().astype(np.float64), expected.detach().numpy(), rtol=tol,
                     atol=tol, what=f"{dtype.__name__} loss")
        assert_close(np.asarray(z.grad).astype(np.float64), zt.grad.numpy(), rtol=tol, atol=tol,
                     what=f"{dtype.__name__} gradient")
        del tdtype


# -- nll_loss -----------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(classification_case())
@settings(max_examples=5)
def test_nll_loss_matches_torch_and_composes_cross_entropy(reduction, case):
    logits, target, _ = case
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))

    def torch_nll(x):
        return TF.nll_loss(x, torch.tensor(target), ignore_index=IGNORE, reduction=reduction)
    torch_parity(lambda x: F.nll_loss(x, target, IGNORE, reduction), torch_nll, [log_probs])

    def via_nll(z):
        return F.nll_loss(F.log_softmax(z, 1), target, IGNORE, reduction)
    expected = outputs_and_grads(lambda z: F.cross_entropy(z, target, IGNORE, 0.0, reduction),
                                 [logits])
    for actual, wanted in zip(outputs_and_grads(via_nll, [logits]), expected):
        assert_close(actual, wanted, 1e-12, 1e-12, "nll_loss(log_softmax) vs cross_entropy")


# -- mse_loss -----------------------------------------------------------------------

@given(shapes(min_dims=0, max_dims=3), st.sampled_from(REDUCTIONS))
@settings(max_examples=15)
def test_mse_loss_matches_torch_and_gradchecks(shape, reduction):
    rng = np.random.default_rng(len(shape))
    arrays = [rng.standard_normal(shape), rng.standard_normal(shape)]
    torch_parity(lambda a, b: F.mse_loss(a, b, reduction),
                 lambda a, b: TF.mse_loss(a, b, reduction=reduction), arrays)
    assert ma.gradcheck(lambda a, b: F.mse_loss(a, b, reduction), [leaf(a) for a in arrays])


def test_mse_loss_warns_when_shapes_differ():
    with pytest.warns(UserWarning, match=r"target of shape \(3,\).*input of shape \(2, 3\)"):
        F.mse_loss(ma.ones(2, 3), ma.ones(3))


@pytest.mark.parametrize("fused", [True, False])
def test_ignored_row_holding_minus_inf_gives_no_nan(fused):
    """An ignored row is read at a placeholder class; -inf there must not turn the loss nan."""
    logits = np.array([[-np.inf, 1.0, 2.0], [0.1, 0.2, 0.3]])
    target = np.array([-100, 2])
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target))
    loss = F.cross_entropy(ma.tensor(logits), ma.tensor(target), fused=fused)
    assert_close(loss.detach().numpy(), expected.numpy())
    nll = F.nll_loss(ma.tensor(logits), ma.tensor(target))
    assert_close(nll.detach().numpy(), torch.nn.functional.nll_loss(torch.tensor(logits),
                                                         torch.tensor(target)).numpy())


@pytest.mark.parametrize("fused", [True, False])
def test_float16_wide_rows_with_a_large_offset_are_computed_in_float32(fused, rng):
    logits = 50 + 4 * rng.standard_normal((8, 4096))
    target = rng.integers(0, 4096, 8)
    float16_parity(lambda t: F.cross_entropy(t, ma.tensor(target), fused=fused),
                   lambda t: TF.cross_entropy(t, torch.tensor(target)), [logits])


@FUSED
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_on_an_empty_batch(reduction, fused, no_numpy_warnings):
    x, xt = leaf_pair((0, 5))
    target = np.zeros(0, dtype=np.int64)
    loss = F.cross_entropy(x, target, reduction=reduction, fused=fused)
    loss_t = TF.cross_entropy(xt, torch.tensor(target), reduction=reduction)
    assert_same_as_torch(loss, loss_t, "loss")   # mean over nothing: nan, as PyTorch
    loss.sum().backward()
    loss_t.sum().backward()
    assert_same_as_torch(x.grad, xt.grad, "d logits")   # (0, 5), never nan


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize("fused", [True, False])
def test_cross_entropy_refuses_integer_logits(dtype, fused):
    logits = np.array([[1, 4, 2], [0, 0, 1]]).astype(dtype)
    target = np.array([1, 2])
    raises_like_torch(
        lambda: F.cross_entropy(ma.tensor(logits), target, fused=fused),
        lambda: TF.cross_entropy(torch.tensor(logits), torch.tensor(target)),
        f"cross_entropy: expected floating-point input, got dtype {dtype}")


def test_cross_entropy_on_float_logits_of_the_same_values_is_exact():
    logits = np.array([[1, 4, 2], [0, 0, 1]])
    ours = F.cross_entropy(ma.tensor(logits.astype(np.float64)), np.array([1, 2])).item()
    theirs = TF.cross_entropy(torch.tensor(logits, dtype=torch.float64),
                              torch.tensor([1, 2])).item()
    assert ours == pytest.approx(theirs, rel=1e-12) and ours != int(ours)


def test_cross_entropy_refuses_0d_input():
    raises_like_torch(lambda: F.cross_entropy(ma.tensor(1.0), ma.tensor(0)),
                      lambda: TF.cross_entropy(torch.tensor(1.0), torch.tensor(0)),
                      r"cross_entropy: input is 0-d; expected at least one dim")


def test_nll_loss_refuses_integer_and_0d_input():
    raises_like_torch(lambda: F.nll_loss(ma.tensor([[1, 2]]), np.array([0])),
                      lambda: TF.nll_loss(torch.tensor([[1, 2]]), torch.tensor([0])),
                      "nll_loss: expected floating-point input, got dtype int64")
    raises_like_torch(lambda: F.nll_loss(ma.tensor(1.0), ma.tensor(0)),
                      lambda: TF.nll_loss(torch.tensor(1.0), torch.tensor(0)),
                      "nll_loss: input is 0-d")


def test_cross_entropy_on_1d_logits_still_matches_torch():
    ours = F.cross_entropy(ma.tensor([1.0, 2.0], dtype="float64"), ma.tensor(0)).item()
    theirs = TF.cross_entropy(torch.tensor([1.0, 2.0], dtype=torch.float64),
                              torch.tensor(0)).item()
    assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("dtype", ["float32", "bool"])
def test_a_target_that_is_not_class_indices_is_a_runtime_error(loss, dtype):
    target = np.array([0, 1]).astype(dtype)
    raises_like_torch(lambda: getattr(F, loss)(ma.zeros(2, 3), ma.tensor(target)),
                      lambda: getattr(TF, loss)(torch.zeros(2, 3), torch.tensor(target)),
                      f"{loss}: expected integer class indices as target, got dtype {dtype}")


@given(st.sampled_from([(0, 3), (2, 1), (2, 3), (0, 3, 2), (2, 3, 0), (2, 1, 1), (1, 3, 4)]),
       st.sampled_from(["mean", "sum", "none"]), st.floats(0.0, 0.5), st.booleans())
def test_cross_entropy_in_pytorch_layouts_with_edge_sizes(shape, reduction, smoothing, fused):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(shape)
    target = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
    if target.size:
        target.flat[0] = -100   # one ignored position
    x, xt = ma.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing, fused=fused)
    expected = TF.cross_entropy(xt, torch.tensor(target), reduction=reduction,
                                label_smoothing=smoothing)
    np.testing.assert_allclose(np.asarray(loss.detach().numpy()), expected.detach().numpy(),
                               rtol=1e-10,
                               atol=1e-12, equal_nan=True)
    loss.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
