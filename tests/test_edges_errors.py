"""Errors that must be clear: each raises the exception type PyTorch raises for
the same call, naming the op or argument and what was expected, instead of
a silently wrong value or a numpy traceback."""
import re

import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from microattn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


# -- cross_entropy -----------------------------------------------------------

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


# -- gradient hooks ------------------------------------------------------------

def _hook_backward(lib, leaf, hook):
    x = lib.ones(2, requires_grad=True)
    t = x if leaf else x * 2
    t.register_hook(hook)
    (t * 1).sum().backward()
    return x


def _named(fn, name):
    fn.__name__ = name
    return fn


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non-leaf"])
@pytest.mark.parametrize("shape", [(3,), (5, 2), (1,), ()])
def test_a_hook_that_changes_the_gradient_shape_is_refused(leaf, shape):
    raises_like_torch(
        lambda: _hook_backward(ma, leaf, _named(lambda g: ma.ones(shape), "resize")),
        lambda: _hook_backward(torch, leaf, _named(lambda g: torch.ones(shape), "resize")),
        r"hook 'resize' has changed the size of value")


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non-leaf"])
@pytest.mark.parametrize("value", [1.0, [1.0, 1.0]], ids=["float", "list"])
def test_a_hook_that_returns_no_tensor_is_refused(leaf, value):
    raises_like_torch(lambda: _hook_backward(ma, leaf, lambda g: value),
                      lambda: _hook_backward(torch, leaf, lambda g: value),
                      f"hook '<lambda>' returned '{type(value).__name__}'")


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non-leaf"])
def test_a_hook_that_changes_the_gradient_dtype_is_refused(leaf):
    raises_like_torch(lambda: _hook_backward(ma, leaf, lambda g: g.double()),
                      lambda: _hook_backward(torch, leaf, lambda g: g.double()),
                      "has changed the type of value")


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non-leaf"])
def test_a_hook_that_keeps_shape_and_dtype_still_replaces_the_gradient(leaf):
    ours = _hook_backward(ma, leaf, lambda g: g * 3.0)
    theirs = _hook_backward(torch, leaf, lambda g: g * 3.0)
    np.testing.assert_array_equal(np.asarray(ours.grad), theirs.grad.numpy())


# -- key_padding_mask ----------------------------------------------------------

def test_key_padding_mask_as_a_list_is_a_type_error():
    query = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    mask = [[False, False, True], [False, True, True]]
    ours = nn.MultiheadAttention(4, 2, batch_first=True)
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    q, qt = ma.tensor(query), torch.tensor(query)
    raises_like_torch(lambda: ours(q, q, q, key_padding_mask=mask),
                      lambda: theirs(qt, qt, qt, key_padding_mask=mask),
                      r"MultiheadAttention: key_padding_mask must be a tensor or an ndarray, "
                      r"not list")


@pytest.mark.parametrize("name", ["attn_mask", "key_padding_mask"])
def test_masks_as_tensors_or_arrays_still_work(name):
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    q = ma.randn(2, 3, 4)
    shape = (3, 3) if name == "attn_mask" else (2, 3)
    mask = np.zeros(shape, dtype=bool)
    mask[..., -1] = True
    out_array, _ = mha(q, q, q, **{name: mask})
    out_tensor, _ = mha(q, q, q, **{name: ma.tensor(mask)})
    np.testing.assert_array_equal(np.asarray(out_array), np.asarray(out_tensor))


# -- .grad and .data assignment --------------------------------------------------

def _assign(lib, attribute, make_value):
    p = lib.zeros(2, 3, requires_grad=True)
    setattr(p, attribute, make_value(lib))
    return p


@pytest.mark.parametrize("shape", [(3,), (1, 3), (2, 1), (3, 2), ()])
def test_grad_of_another_shape_is_refused_even_if_it_broadcasts(shape):
    raises_like_torch(lambda: _assign(ma, "grad", lambda lib: lib.zeros(shape)),
                      lambda: _assign(torch, "grad", lambda lib: lib.zeros(shape)),
                      rf"gradient of shape {re.escape(str(shape))} to a tensor of shape \(2, 3\)")
    with pytest.raises(RuntimeError, match=r"gradient of shape"):  # an ndarray too
        _assign(ma, "grad", lambda lib: np.zeros(shape, np.float32))


@pytest.mark.parametrize("dtype", ["int64", "float64", "bool"])
def test_grad_of_another_dtype_is_refused(dtype):
    raises_like_torch(
        lambda: _assign(ma, "grad", lambda lib: np.zeros((2, 3), dtype)),
        lambda: _assign(torch, "grad", lambda lib: lib.zeros((2, 3), dtype=getattr(torch, dtype))),
        f"gradient of dtype {dtype} to a tensor of dtype float32")


@pytest.mark.parametrize("value", [[[0.0] * 3] * 2, 0.0], ids=["list", "float"])
def test_grad_that_is_no_array_is_a_type_error(value):
    raises_like_torch(lambda: _assign(ma, "grad", lambda lib: value),
                      lambda: _assign(torch, "grad", lambda lib: value),
                      f"grad expected to be a tensor, an ndarray or None, but got grad of type "
                      f"{type(value).__name__}")


def test_a_fitting_grad_is_taken_from_a_tensor_an_ndarray_or_none():
    p = ma.zeros(2, 3, requires_grad=True)
    p.grad = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(np.asarray(p.grad), np.ones((2, 3)))
    grad = ma.full((2, 3), 2.0)
    p.grad = grad
    assert p.grad is grad   # a tensor is kept as it is, as PyTorch
    np.testing.assert_array_equal(np.asarray(p.grad), np.full((2, 3), 2.0))
    p.grad = None
    assert p.grad is None


def test_data_set_to_a_list_is_a_type_error():
    raises_like_torch(lambda: _assign(ma, "data", lambda lib: [[0.0] * 3] * 2),
                      lambda: _assign(torch, "data", lambda lib: [[0.0] * 3] * 2),
                      "Tensor.data must be set to an ndarray or a tensor, not list")


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_integer_data_into_a_tensor_that_requires_grad_is_refused(dtype):
    raises_like_torch(
        lambda: _assign(ma, "data", lambda lib: np.zeros((2, 3), dtype)),
        lambda: _assign(torch, "data", lambda lib: lib.zeros((2, 3), dtype=getattr(torch, dtype))),
        f"data set to a tensor that requires gradients must be floating point, got dtype {dtype}")
    p = nn.Parameter(np.zeros(3))
    with pytest.raises(RuntimeError, match="must be floating point"):
        p.data = np.zeros(3, dtype)
    assert p.data.dtype == np.float64   # left as it was


def test_data_of_another_shape_or_float_dtype_is_taken_as_pytorch():
    p = _assign(ma, "data", lambda lib: np.ones(4))
    t = _assign(torch, "data", lambda lib: lib.ones(4, dtype=torch.float64))
    assert p.shape == tuple(t.shape) and p.dtype == np.float64
    p.data = ma.full((2,), 3.0)   # a tensor's data, shared
    np.testing.assert_array_equal(p.data, [3.0, 3.0])
    q = ma.zeros(3)                # no grad: any dtype
    q.data = np.arange(3)
    assert q.dtype == np.int64


# -- iteration -------------------------------------------------------------------

def test_iterating_a_0d_tensor_is_a_type_error():
    raises_like_torch(lambda: list(ma.tensor(1.0)), lambda: list(torch.tensor(1.0)),
                      "iteration over a 0-d tensor")


def test_iterating_gives_the_rows_with_gradient():
    x = ma.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(np.asarray(rows[1].data), [2.0, 3.0])
    (rows[0].sum() + 2 * rows[2].sum()).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [[1, 1], [0, 0], [2, 2]])
    assert list(ma.zeros(0, 3)) == []


# -- integer input where the result must be fractional ---------------------------------

INTEGER_CALLS = {
    "softmax": (lambda x: x.softmax(-1), lambda x: x.softmax(-1)),
    "log_softmax": (lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1)),
    "layer_norm": (lambda x: F.layer_norm(x, (3,)), lambda x: TF.layer_norm(x, (3,))),
}


@pytest.mark.parametrize("name", INTEGER_CALLS)
def test_integer_input_to_softmax_and_layer_norm_is_refused(name):
    ours, theirs = INTEGER_CALLS[name]
    data = np.array([[1, 2, 3]])
    raises_like_torch(lambda: ours(ma.tensor(data)), lambda: theirs(torch.tensor(data)),
                      f"{name}: expected floating-point input, got dtype int64")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_composed_softmax_refuses_integer_input_too(name):
    with pytest.raises(NotImplementedError, match=f"{name}: expected floating-point input"):
        getattr(F, name)(ma.tensor([1, 2, 3]), 0, fused=False)


def test_unsqueeze_out_of_range_names_the_dim():
    raises_like_torch(lambda: ma.zeros(3).unsqueeze(3), lambda: torch.zeros(3).unsqueeze(3),
                      r"Unsqueeze.*dim 3 is out of range")
    assert ma.zeros(3).unsqueeze(-2).shape == tuple(torch.zeros(3).unsqueeze(-2).shape)
    assert ma.zeros(3).unsqueeze(1).shape == (3, 1)


@pytest.mark.parametrize("fused", [True, False])
def test_attention_with_zero_features_is_uniform_as_pytorch(fused):
    """d = 0: every score is 0 (an empty dot product), so 1/sqrt(d) must not divide by 0."""
    value = np.random.default_rng(0).standard_normal((1, 3, 2))
    q = ma.tensor(np.zeros((1, 2, 0)), requires_grad=True)
    k = ma.tensor(np.zeros((1, 3, 0)))
    v, vt = ma.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v, fused=fused)
    expected = TF.scaled_dot_product_attention(torch.zeros(1, 2, 0, dtype=torch.float64),
                                               torch.zeros(1, 3, 0, dtype=torch.float64), vt)
    np.testing.assert_allclose(np.asarray(out.data), expected.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(np.asarray(v.grad), vt.grad.numpy(), rtol=1e-12)
    assert np.asarray(q.grad).shape == (1, 2, 0)


# -- sizes and seeds -----------------------------------------------------------------

FACTORIES = ["zeros", "ones", "randn", "rand"]


@pytest.mark.parametrize("name", FACTORIES)
def test_a_negative_size_names_the_factory(name):
    raises_like_torch(lambda: getattr(ma, name)(2, -1), lambda: getattr(torch, name)(2, -1),
                      rf"{name}\(\): Trying to create tensor with negative dimension -1")
    raises_like_torch(lambda: getattr(ma, name)(2.5), lambda: getattr(torch, name)(2.5),
                      rf"{name}\(\): size must be ints")
    assert getattr(ma, name)((2, 0)).shape == (2, 0)
    assert getattr(ma, name)([3]).shape == (3,)


def test_arange_with_step_zero_is_a_runtime_error():
    raises_like_torch(lambda: ma.arange(0, 5, 0), lambda: torch.arange(0, 5, 0),
                      r"arange\(\): step must be nonzero")


@pytest.mark.parametrize("layer, args, match", [
    ("Linear", (-1, 3), "Linear: in_features must be non-negative, got -1"),
    ("Linear", (2.5, 3), "Linear: in_features must be an int, got 2.5"),
    ("Embedding", (3, -2), "Embedding: embedding_dim must be non-negative, got -2"),
])
def test_layer_sizes_are_checked_by_name(layer, args, match):
    raises_like_torch(lambda: getattr(nn, layer)(*args), lambda: getattr(torch.nn, layer)(*args),
                      match)


def test_manual_seed_takes_what_pytorch_takes():
    for seed, same_as in ((-1, 2**64 - 1), (1.5, 1), (np.int64(7), 7)):
        ma.manual_seed(seed)
        first = np.asarray(ma.randn(3))
        ma.manual_seed(same_as)
        np.testing.assert_array_equal(first, np.asarray(ma.randn(3)))
        torch.manual_seed(seed)   # PyTorch accepts the same seeds
    raises_like_torch(lambda: ma.manual_seed(2**64), lambda: torch.manual_seed(2**64),
                      "out of range")
    raises_like_torch(lambda: ma.manual_seed("a"), lambda: torch.manual_seed("a"),
                      "invalid literal")
    ma.manual_seed(0)


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


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1, 2], requires_grad=True),
    lambda lib: lib.tensor([1, 2]).requires_grad_(),
    lambda lib: lib.tensor([True]).requires_grad_(),
], ids=["tensor()", "requires_grad_() int", "requires_grad_() bool"])
def test_only_floating_tensors_can_require_grad(make):
    raises_like_torch(lambda: make(ma), lambda: make(torch),
                      "only floating-point tensors can require gradients")


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("dtype", ["float32", "bool"])
def test_a_target_that_is_not_class_indices_is_a_runtime_error(loss, dtype):
    target = np.array([0, 1]).astype(dtype)
    raises_like_torch(lambda: getattr(F, loss)(ma.zeros(2, 3), ma.tensor(target)),
                      lambda: getattr(TF, loss)(torch.zeros(2, 3), torch.tensor(target)),
                      f"{loss}: expected integer class indices as target, got dtype {dtype}")


@pytest.mark.parametrize("name, ours, theirs", [
    ("mean", lambda x: x.mean(), lambda x: x.mean()),
    ("var", lambda x: x.var(), lambda x: x.var()),
    ("mse_loss", lambda x: F.mse_loss(x, x), lambda x: TF.mse_loss(x, x)),
])
def test_integer_input_to_mean_var_and_mse_raises_as_pytorch(name, ours, theirs):
    raises_like_torch(lambda: ours(ma.tensor([1, 2])), lambda: theirs(torch.tensor([1, 2])),
                      rf"{name}(\(\))?: .*floating-point")


@pytest.mark.parametrize("element", [2.0, 1.0, 1, True], ids=["2.0", "1.0", "1", "True"])
@pytest.mark.parametrize("shape", [(2, 2), (3,), ()])
def test_membership_looks_at_every_entry_as_pytorch(element, shape):
    assert (element in ma.ones(shape)) == (element in torch.ones(shape))
    assert (ma.tensor(1.0) in ma.ones(shape)) == (torch.tensor(1.0) in torch.ones(shape))


def test_membership_of_a_list_is_refused_as_pytorch():
    raises_like_torch(lambda: [1.0] in ma.ones(2), lambda: [1.0] in torch.ones(2),
                      r"__contains__ only supports Tensor or scalar")


@pytest.mark.parametrize("shape", [(3,), ()])
def test_embedding_weight_must_be_2d(shape):
    raises_like_torch(lambda: F.embedding(ma.tensor([1]), ma.zeros(shape)),
                      lambda: TF.embedding(torch.tensor([1]), torch.zeros(shape)),
                      r"embedding: weight of shape .* must be 2-D")


@pytest.mark.parametrize("padding_idx", [3, 10, -4])
def test_functional_embedding_padding_idx_out_of_range_is_refused(padding_idx):
    weight = ma.zeros(3, 2, requires_grad=True)
    with pytest.raises(AssertionError):   # PyTorch asserts; we name it
        TF.embedding(torch.tensor([1]), torch.zeros(3, 2), padding_idx=padding_idx)
    with pytest.raises(ValueError, match=rf"embedding: padding_idx {padding_idx} must be within "
                                         r"num_embeddings \(3\)"):
        F.embedding(ma.tensor([1]), weight, padding_idx=padding_idx)


def test_functional_embedding_negative_padding_idx_counts_from_the_end():
    weight = ma.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    F.embedding(ma.tensor([0, 2, 2]), weight, padding_idx=-1).sum().backward()
    np.testing.assert_array_equal(np.asarray(weight.grad), [[1, 1], [0, 0], [0, 0]])


@pytest.mark.parametrize("call", [
    lambda: ma.zeros(2, 3).transpose(0, None),
    lambda: ma.zeros(2, 3).unsqueeze(None),
    lambda: ma.zeros(2, 3).squeeze(1.0),
    lambda: ma.zeros(2, 3).flatten(None),
], ids=["transpose", "unsqueeze", "squeeze", "flatten"])
def test_shape_ops_name_a_dim_that_is_not_an_int(call):
    with pytest.raises(TypeError, match="dim must be an int, got"):
        call()


@pytest.mark.parametrize("call", [
    lambda: F.dropout(ma.zeros(3), None),
    lambda: nn.Dropout("0.1"),
    lambda: nn.MultiheadAttention(4, 2, dropout=None),
], ids=["F.dropout", "nn.Dropout", "MultiheadAttention"])
def test_a_dropout_probability_that_is_not_a_number_is_named(call):
    with pytest.raises(TypeError, match="dropout probability has to be a number between 0 and 1"):
        call()


@pytest.mark.parametrize("shape", [2.5, None, "3", (3.0,)])
def test_layer_norm_names_a_normalized_shape_that_is_not_ints(shape):
    raises_like_torch(lambda: F.layer_norm(ma.zeros(2, 3), shape),
                      lambda: TF.layer_norm(torch.zeros(2, 3), shape),
                      "layer_norm: normalized_shape must be an int or a tuple of ints")
