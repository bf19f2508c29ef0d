"""The ops added for PyTorch compatibility: gradcheck in float64 on hypothesis
shapes, and values and gradients against PyTorch."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microattn as ma
from helpers import NAN_DATA, nan_grads, assert_same_with_nans, leaf, shapes, torch_parity
from microattn import functional as MF
from helpers import broadcastable_pair
import warnings
from microattn import nn, optim
from microattn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

seeds = st.integers(0, 2**32 - 1)


def normal(rng, shape):
    return rng.standard_normal(shape) * 2


def positive(rng, shape):
    return rng.uniform(0.3, 3.0, size=shape)


def away_from_zero(rng, shape):
    return rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def distinct(rng, shape):
    """Values without ties (sort, topk, max pick one element each)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) + rng.uniform(0.1, 0.5, size=shape)) / 3


def probability(rng, shape):
    return rng.uniform(0.05, 0.95, size=shape)


# name: (microattn fn, torch fn, sampler, min dims); both fns get tensors of one shape
UNARY = {
    "sin": (ma.sin, torch.sin, normal, 0),
    "cos": (ma.cos, torch.cos, normal, 0),
    "tan": (ma.tan, torch.tan, lambda r, s: r.uniform(-1.2, 1.2, s), 0),
    "square": (ma.square, torch.square, normal, 0),
    "rsqrt": (ma.rsqrt, torch.rsqrt, positive, 0),
    "reciprocal": (ma.reciprocal, torch.reciprocal, away_from_zero, 0),
    "log2": (ma.log2, torch.log2, positive, 0),
    "log10": (ma.log10, torch.log10, positive, 0),
    "log1p": (ma.log1p, torch.log1p, positive, 0),
    "exp2": (ma.exp2, torch.exp2, normal, 0),
    "expm1": (ma.expm1, torch.expm1, normal, 0),
    "atan": (ma.atan, torch.atan, normal, 0),
    "sign": (ma.sign, torch.sign, away_from_zero, 0),
    "floor": (ma.floor, torch.floor, away_from_zero, 0),
    "ceil": (ma.ceil, torch.ceil, away_from_zero, 0),
    "trunc": (ma.trunc, torch.trunc, away_from_zero, 0),
    "t": (lambda x: x.t(), lambda x: x.t(), normal, 0),
    "narrow": (lambda x: x.narrow(0, 0, 1), lambda x: x.narrow(0, 0, 1), normal, 1),
    "movedim": (lambda x: x.movedim(0, -1), lambda x: x.movedim(0, -1), normal, 1),
    "clamp": (lambda x: x.clamp(-1.0, 1.0), lambda x: x.clamp(-1.0, 1.0), away_from_zero, 0),
    "clip_min": (lambda x: x.clip(min=0.5), lambda x: x.clip(min=0.5), away_from_zero, 0),
    "silu": (MF.silu, TF.silu, normal, 0),
    "leaky_relu": (lambda x: MF.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2),
                   away_from_zero, 0),
    "elu": (MF.elu, TF.elu, away_from_zero, 0),
    "softplus": (MF.softplus, TF.softplus, normal, 0),
    "logsigmoid": (MF.logsigmoid, TF.logsigmoid, normal, 0),
    "std": (lambda x: x.std(), lambda x: x.std(), normal, 1),
    "std_dim": (lambda x: x.std(dim=-1, keepdim=True), lambda x: x.std(dim=-1, keepdim=True),
                normal, 1),
    "norm": (lambda x: x.norm(), lambda x: x.norm(), away_from_zero, 0),
    "norm_dim": (lambda x: x.norm(dim=0), lambda x: x.norm(dim=0), away_from_zero, 1),
    "norm_p1": (lambda x: x.norm(p=1, dim=-1), lambda x: x.norm(p=1, dim=-1), away_from_zero, 1),
    "logsumexp": (lambda x: x.logsumexp(-1), lambda x: x.logsumexp(-1), normal, 1),
    "prod": (lambda x: x.prod(-1), lambda x: x.prod(-1), positive, 1),
    "cumsum": (lambda x: x.cumsum(0), lambda x: x.cumsum(0), normal, 1),
    "sort_values": (lambda x: x.sort(-1, descending=True).values,
                    lambda x: x.sort(-1, descending=True).values, distinct, 1),
    "topk_values": (lambda x: x.topk(1, dim=-1).values, lambda x: x.topk(1, dim=-1).values,
                    distinct, 1),
    "flip": (lambda x: x.flip(0), lambda x: x.flip(0), normal, 1),
    "roll": (lambda x: x.roll(1, 0), lambda x: x.roll(1, 0), normal, 1),
    "repeat": (lambda x: x.repeat(2, *[1] * (x.ndim - 1), 3),
               lambda x: x.repeat(2, *[1] * (x.ndim - 1), 3), normal, 1),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=0),
                          lambda x: x.repeat_interleave(2, dim=0), normal, 1),
    "repeat_interleave_flat": (lambda x: x.repeat_interleave(3),
                               lambda x: x.repeat_interleave(3), normal, 0),
    "tril": (lambda x: x.tril(), lambda x: x.tril(), normal, 2),
    "triu_1": (lambda x: x.triu(1), lambda x: x.triu(1), normal, 2),
    "split_first": (lambda x: x.split(2, dim=0)[-1], lambda x: x.split(2, dim=0)[-1],
                    normal, 1),
    "chunk_cat": (lambda x: ma.cat(x.chunk(2, -1)[::-1], -1),
                  lambda x: torch.cat(x.chunk(2, -1)[::-1], -1), normal, 1),
    "unbind_stack": (lambda x: ma.stack(x.unbind(0)[::-1]),
                     lambda x: torch.stack(x.unbind(0)[::-1]), normal, 1),
    "mT": (lambda x: x.mT, lambda x: x.mT, normal, 2),
    "flatten_1": (lambda x: x.flatten(1), lambda x: x.flatten(1), normal, 2),
    "pad": (lambda x: MF.pad(x, (1, 2)), lambda x: TF.pad(x, (1, 2)), normal, 1),
    "pad_value_2d": (lambda x: MF.pad(x, (0, 1, 2, 0), value=3.0),
                     lambda x: TF.pad(x, (0, 1, 2, 0), value=3.0), normal, 2),
    "normalize": (lambda x: MF.normalize(x, dim=-1), lambda x: TF.normalize(x, dim=-1),
                  away_from_zero, 1),
    "masked_select": (lambda x: x.masked_select(x.detach() > 0),
                      lambda x: x.masked_select(x.detach() > 0), away_from_zero, 0),
    "int_then_list_index": (lambda x: x[0, ..., [0, -1, 0]] if x.ndim > 1 else x[[0, 0]],
                            lambda x: x[0, ..., [0, -1, 0]] if x.ndim > 1 else x[[0, 0]],
                            normal, 1),
}

# name: (microattn fn, torch fn, samplers) for ops of two tensors of one shape
BINARY = {
    "maximum": (ma.maximum, torch.maximum, (normal, normal)),
    "minimum": (ma.minimum, torch.minimum, (normal, normal)),
    "remainder": (lambda a, b: a % b, lambda a, b: a % b, (normal, away_from_zero)),
    "clamp_tensors": (lambda x, lo: x.clamp(min=lo), lambda x, lo: x.clamp(min=lo),
                      (normal, normal)),
    "bce": (lambda p, t: MF.binary_cross_entropy(p, t), lambda p, t: TF.binary_cross_entropy(p, t),
            (probability, probability)),
    "bce_logits": (lambda x, t: MF.binary_cross_entropy_with_logits(x, t),
                   lambda x, t: TF.binary_cross_entropy_with_logits(x, t), (normal, probability)),
    "bce_logits_pos_weight": (
        lambda x, t: MF.binary_cross_entropy_with_logits(x, t, pos_weight=ma.tensor(2.0)),
        lambda x, t: TF.binary_cross_entropy_with_logits(x, t, pos_weight=torch.tensor(2.0)),
        (normal, probability)),
    "kl_div": (lambda x, t: MF.kl_div(x, t, reduction="batchmean"),
               lambda x, t: TF.kl_div(x, t, reduction="batchmean"), (normal, probability)),
    "kl_div_log_target": (lambda x, t: MF.kl_div(x, t, reduction="sum", log_target=True),
                          lambda x, t: TF.kl_div(x, t, reduction="sum", log_target=True),
                          (normal, normal)),
    "l1_loss": (MF.l1_loss, TF.l1_loss, (normal, normal)),
    "cosine_similarity": (lambda a, b: MF.cosine_similarity(a, b, dim=-1),
                          lambda a, b: TF.cosine_similarity(a, b, dim=-1),
                          (away_from_zero, away_from_zero)),
    "einsum_outer_sum": (lambda a, b: ma.einsum("...i,...j->ij", a, b),
                         lambda a, b: torch.einsum("...i,...j->ij", a, b), (normal, normal)),
    "einsum_hadamard_sum": (lambda a, b: ma.einsum("...ij,...ij->...", a, b),
                            lambda a, b: torch.einsum("...ij,...ij->...", a, b),
                            (normal, normal)),
}


# ops whose answer needs two elements along the reduced dims (std of one number is nan)
MIN_SIDE = {"std": 2, "std_dim": 2}


@st.composite
def shaped(draw, min_dims, max_dims=3, min_side=1):
    return draw(shapes(max(min_dims, 0), max(max_dims, min_dims), min_side, 4))


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), seed=seeds)
def test_unary_gradcheck_and_torch(name, data, seed):
    fn, torch_fn, sample, min_dims = UNARY[name]
    shape = data.draw(shaped(min_dims, 2 if name == "t" else 3,
                             min_side=MIN_SIDE.get(name, 1)))
    x = sample(np.random.default_rng(seed), shape)
    assert ma.gradcheck(fn, [leaf(x)])
    torch_parity(fn, torch_fn, [x], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), seed=seeds)
def test_binary_gradcheck_and_torch(name, data, seed):
    fn, torch_fn, (sample_a, sample_b) = BINARY[name]
    shape = data.draw(shaped(2 if name.startswith(("kl", "cos", "einsum")) else 1))
    rng = np.random.default_rng(seed)
    a, b = sample_a(rng, shape), sample_b(rng, shape)
    if name == "clamp_tensors":
        b = a + rng.choice([-0.5, 0.5], size=shape)  # never a tie between x and the bound
    assert ma.gradcheck(fn, [leaf(a), leaf(b)])
    torch_parity(fn, torch_fn, [a, b], rtol=1e-9, atol=1e-10)


@given(shape=shapes(1, 3, 1, 4), seed=seeds, data=st.data())
def test_gather_scatter_index_select_gradcheck_and_torch(shape, seed, data):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(0, len(shape) - 1))
    index = rng.integers(0, shape[dim], size=shape)
    picks = rng.integers(0, shape[dim], size=3)
    cases = [
        (lambda x: x.gather(dim, ma.tensor(index)),
         lambda x: x.gather(dim, torch.tensor(index)), [normal(rng, shape)]),
        (lambda x, s: x.scatter_add(dim, ma.tensor(index), s),
         lambda x, s: x.scatter_add(dim, torch.tensor(index), s),
         [normal(rng, shape), normal(rng, shape)]),
        (lambda x: x.index_select(dim, ma.tensor(picks)),
         lambda x: x.index_select(dim, torch.tensor(picks)), [normal(rng, shape)]),
    ]
    unique = np.argsort(rng.random(shape), axis=dim)  # a permutation: no two writes collide
    cases.append((lambda x, s: x.scatter(dim, ma.tensor(unique), s),
                  lambda x, s: x.scatter(dim, torch.tensor(unique), s),
                  [normal(rng, shape), normal(rng, shape)]))
    for fn, torch_fn, arrays in cases:
        assert ma.gradcheck(fn, [leaf(a) for a in arrays])
        torch_parity(fn, torch_fn, arrays)


@given(seed=seeds)
def test_einsum_matrix_products_gradcheck_and_torch(seed):
    rng = np.random.default_rng(seed)
    a, b = normal(rng, (2, 3, 4)), normal(rng, (2, 4, 5))
    for equation in ("bij,bjk->bik", "bij,bjk->ik", "bij,bjk", "bij,bjk->bk"):
        fn = lambda x, y, e=equation: ma.einsum(e, x, y)  # noqa: E731
        torch_fn = lambda x, y, e=equation: torch.einsum(e, x, y)  # noqa: E731
        assert ma.gradcheck(fn, [leaf(a), leaf(b)])
        torch_parity(fn, torch_fn, [a, b])
    vector = normal(rng, (4,))
    torch_parity(lambda v: ma.einsum("i->", v), lambda v: torch.einsum("i->", v), [vector])


def test_setitem_on_a_graph_tensor_gradcheck_and_torch(rng):
    def fn(lib):
        def run(x, v):
            y = x * 2
            y[0, :, [0, 2]] = v  # PyTorch's rule: (3, 2) positions
            return y * y
        return run
    x, v = normal(rng, (2, 3, 4)), normal(rng, (3, 2))
    assert ma.gradcheck(fn(ma), [leaf(x), leaf(v)])
    torch_parity(fn(ma), fn(torch), [x, v])


def test_inplace_ops_on_graph_tensors_match_torch(rng):
    def fn(x, w):
        h = x * 1.0
        h.add_(w, alpha=2.0)
        h.mul_(w)
        h -= x
        h /= 3.0
        h.clamp_(-1.0, 1.0)
        h.masked_fill_(h.detach() > 0.9, 0.5)
        return h.exp()
    arrays = [normal(rng, (3, 4)), normal(rng, (3, 4))]
    assert ma.gradcheck(fn, [leaf(a) for a in arrays])
    torch_parity(fn, fn, arrays)


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


@pytest.mark.parametrize("data", NAN_DATA)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_and_min_of_everything_send_the_gradient_only_to_the_nans(op, data):
    ours, theirs = nan_grads(lambda x: getattr(x, op)(), data)
    assert_same_with_nans(ours, theirs)
    if np.isnan(data).any():
        assert np.all(ours[~np.isnan(data)] == 0)


@pytest.mark.parametrize("data", NAN_DATA)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_along_a_dim_at_nan_picks_the_nan_as_pytorch(op, data):
    def values(x):
        return getattr(x, op)(-1)[0]
    ours, theirs = nan_grads(values, data)
    assert_same_with_nans(ours, theirs)
    t = np.asarray(data, np.float64)
    np.testing.assert_array_equal(
        np.asarray(getattr(ma.tensor(t), op)(-1)[1]),
        getattr(torch.tensor(t), op)(-1)[1].numpy())


def test_every_tensor_method_has_a_function_form():
    skip = {"to", "type", "type_as", "cpu", "cuda", "backward", "register_hook", "retain_grad",
            "requires_grad_", "item", "tolist", "numpy", "size", "dim", "detach", "view",
            "view_as", "expand", "expand_as", "contiguous", "long", "int", "short", "bool",
            "half", "byte", "float", "double", "is_contiguous", "element_size", "nelement",
            "ndimension", "is_complex", "new_tensor", "new_full", "new_zeros", "new_ones",
            "new_empty", "numel", "is_floating_point", "repeat", "reshape_as"}
    methods = [n for n in dir(ma.Tensor) if not n.startswith("_") and not n.endswith("_")
               and n not in skip
               and callable(getattr(ma.Tensor, n))]
    missing = [n for n in methods if not callable(getattr(ma, n, None))]
    assert not missing
    x = ma.tensor([[0.5, -1.0], [2.0, 0.25]])
    for name in ("exp", "tril", "softmax", "sum", "clamp", "flip", "cumsum", "norm"):
        args = {"softmax": (-1,), "clamp": (0.0, 1.0), "flip": (0,), "cumsum": (0,)}.get(name, ())
        np.testing.assert_array_equal(getattr(ma, name)(x, *args).detach().numpy(),
                                      getattr(x, name)(*args).detach().numpy())
    assert ma.matmul is ma.Tensor.matmul
    np.testing.assert_allclose(ma.bmm(ma.ones(2, 2, 3), ma.ones(2, 3, 1)).detach().numpy(), 3.0)


def test_functional_is_one_module_under_both_names():
    import microattn.nn.functional as nnF
    assert nnF is F is nn.functional


def test_grad_modes_inference_mode_and_set_grad_enabled():
    w = ma.ones(1, requires_grad=True)
    with ma.inference_mode():
        assert not (w * 2).requires_grad
    with ma.inference_mode(False):
        assert (w * 2).requires_grad

    @ma.inference_mode()
    def f(x):
        return x * 2
    assert not f(w).requires_grad
    with ma.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad
    assert ma.is_tensor(w) and not ma.is_tensor(1.0)


def test_docs_pytorch_md_lists_every_public_name():
    from pathlib import Path
    text = (Path(__file__).parents[2] / "docs" / "pytorch.md").read_text()
    names = ([f"ma.{n}" for n in ma.__all__] + [f"F.{n}" for n in F.__all__]
             + [f"nn.{n}" for n in nn.__all__] + [f"optim.{n}" for n in optim.__all__])
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"run PYTHONPATH=. python docs/pytorch_names.py (missing: {missing})"
