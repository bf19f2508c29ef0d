"""Zero-length dims through the public API, compared with PyTorch: softmax and
log_softmax over nothing, attention with no keys or no queries, losses and
layer norm on empty batches, means over nothing. Values and gradients both,
and no numpy warning or traceback on the way."""
import warnings

import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from microattn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

FUSED = pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])


def pair(shape, seed=0, requires_grad=True):
    """The same float64 values as a microattn leaf and a torch leaf."""
    data = np.random.default_rng(seed).standard_normal(shape)
    return (ma.tensor(data, requires_grad=requires_grad),
            torch.tensor(data, requires_grad=requires_grad))


def assert_same(ours, theirs, what):
    ours = np.asarray(ours)
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, equal_nan=True,
                               err_msg=what)


@pytest.fixture(autouse=True)
def no_numpy_warnings():
    """An empty dim must not make numpy complain about it (mean of empty slice)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("error", ".*(zero-size|empty)", RuntimeWarning)
        yield


@FUSED
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (2, 0, 4)])
def test_softmax_over_and_beside_an_empty_dim(name, shape, fused):
    for dim in range(-len(shape), len(shape)):
        x, xt = pair(shape)
        y = getattr(F, name)(x, dim, fused=fused)
        yt = getattr(TF, name)(xt, dim)
        assert_same(y, yt, f"{name}{shape} dim={dim}")
        y.backward(np.ones(shape))
        yt.backward(torch.ones(shape, dtype=torch.float64))
        assert_same(x.grad, xt.grad, f"d {name}{shape} dim={dim}")


@FUSED
@pytest.mark.parametrize("q_len, k_len", [(3, 0), (0, 3), (0, 0)],
                         ids=["no keys", "no queries", "neither"])
def test_sdpa_with_no_keys_or_no_queries(q_len, k_len, fused):
    q, qt = pair((2, q_len, 4), 1)
    k, kt = pair((2, k_len, 4), 2)
    v, vt = pair((2, k_len, 5), 3)
    out, weights = F.scaled_dot_product_attention(q, k, v, need_weights=True, fused=fused)
    expected = TF.scaled_dot_product_attention(qt, kt, vt)
    assert_same(out, expected, "output")
    assert weights.shape == (2, q_len, k_len)
    g = np.random.default_rng(4).standard_normal((2, q_len, 5))
    out.backward(g)
    expected.backward(torch.tensor(g))
    for ours, theirs, name in ((q, qt, "dq"), (k, kt, "dk"), (v, vt, "dv")):
        assert_same(ours.grad, theirs.grad, name)


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_with_no_keys_and_a_mask(causal):
    q, k, v = ma.randn(2, 3, 4), ma.randn(2, 0, 4), ma.randn(2, 0, 4)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=ma.ones((3, 0), dtype=bool),
                                         is_causal=causal)
    np.testing.assert_array_equal(np.asarray(out), np.zeros((2, 3, 4)))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("q_len, k_len", [(3, 0), (0, 3), (0, 0)],
                         ids=["no keys", "no queries", "neither"])
def test_multihead_attention_with_length_zero(q_len, k_len, fused):
    ma.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True, fused=fused)
    reference = torch.nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # the same weights: PyTorch packs q, k, v into one matrix
        reference.in_proj_weight.copy_(torch.tensor(np.concatenate(
            [np.asarray(m.weight.data, np.float64) for m in (mha.q_proj, mha.k_proj,
                                                             mha.v_proj)])))
        reference.in_proj_bias.fill_(0.25)
        reference.out_proj.weight.copy_(torch.tensor(np.asarray(mha.out_proj.weight.data,
                                                                np.float64)))
        reference.out_proj.bias.fill_(0.5)
    mha.double()
    with ma.no_grad():
        for m in (mha.q_proj, mha.k_proj, mha.v_proj):
            m.bias.data[...] = 0.25
        mha.out_proj.bias.data[...] = 0.5
    query, query_t = pair((2, q_len, 4), 5)
    key, key_t = pair((2, k_len, 4), 6)
    out, weights = mha(query, key, key)
    out_t, weights_t = reference(query_t, key_t, key_t)
    assert_same(out, out_t, "output")    # no keys: out_proj.bias, as PyTorch
    assert_same(weights, weights_t, "weights")
    out.sum().backward()
    out_t.sum().backward()
    assert_same(query.grad, query_t.grad, "d query")
    assert_same(key.grad, key_t.grad, "d key")
    assert_same(mha.out_proj.bias.grad, reference.out_proj.bias.grad, "d out_proj.bias")


@FUSED
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_on_an_empty_batch(reduction, fused):
    x, xt = pair((0, 5))
    target = np.zeros(0, dtype=np.int64)
    loss = F.cross_entropy(x, target, reduction=reduction, fused=fused)
    loss_t = TF.cross_entropy(xt, torch.tensor(target), reduction=reduction)
    assert_same(loss, loss_t, "loss")   # mean over nothing: nan, as PyTorch
    loss.sum().backward()
    loss_t.sum().backward()
    assert_same(x.grad, xt.grad, "d logits")   # (0, 5), never nan


@FUSED
@pytest.mark.parametrize("shape, normalized", [((0, 5), (5,)), ((3, 0), (0,)),
                                               ((2, 0, 3), (3,))])
def test_layer_norm_on_empty_input(shape, normalized, fused):
    x, xt = pair(shape)
    w, wt = pair(normalized, 1)
    b, bt = pair(normalized, 2)
    if not fused and 0 in normalized:
        # the composed graph takes a variance over nothing and says so, as PyTorch's var
        with pytest.warns(UserWarning, match="degrees of freedom"):
            y = F.layer_norm(x, normalized, w, b, fused=fused)
    else:
        y = F.layer_norm(x, normalized, w, b, fused=fused)
    y_t = TF.layer_norm(xt, normalized, wt, bt)
    assert_same(y, y_t, "output")
    y.sum().backward()
    y_t.sum().backward()
    for ours, theirs, name in ((x, xt, "dx"), (w, wt, "d weight"), (b, bt, "d bias")):
        assert_same(ours.grad, theirs.grad, name)


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_mean_over_nothing_is_nan_as_pytorch(dim):
    x, xt = pair((3, 0))
    y = x.mean() if dim is None else x.mean(dim)
    y_t = xt.mean() if dim is None else xt.mean(dim)
    assert_same(y, y_t, f"mean(dim={dim})")
    y.sum().backward()
    y_t.sum().backward()
    assert_same(x.grad, xt.grad, "grad")


def test_var_with_no_degrees_of_freedom_warns_as_pytorch():
    x, xt = pair((3, 1))
    with pytest.warns(UserWarning, match="degrees of freedom"):
        y = x.var(1)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        y_t = xt.var(1)
    assert_same(y, y_t, "var")
    y.sum().backward()
    y_t.sum().backward()
    assert_same(x.grad, xt.grad, "grad")
