"""PyTorch's semantics where microattn used to differ silently, and in-place
writes guarded by version counters, each checked against PyTorch."""
import numpy as np
import pytest

import microattn as ma
from microattn import nn, optim
from microattn import functional as F

torch = pytest.importorskip("torch")


def grad_array(t):
    return np.asarray(t.grad)


# -- the silent differences ------------------------------------------------------

def test_randint_high_size_gives_the_shape_and_rejects_an_empty_range():
    assert ma.randint(2, (3,)).shape == torch.randint(2, (3,)).shape == (3,)
    assert ma.randint(0, 5, (2, 4)).shape == (2, 4)
    values = ma.randint(3, 6, (200,)).detach().numpy()
    assert values.dtype == np.int64 and values.min() >= 3 and values.max() < 6
    with pytest.raises(RuntimeError):
        torch.randint(10, 3, (3,))
    with pytest.raises(RuntimeError, match="low >= high"):
        ma.randint(10, 3, (3,))


def test_augmented_assignment_under_no_grad_updates_the_parameter_in_place():
    p = nn.Parameter(ma.tensor([1.0, 2.0]))
    alias = p
    (p * p).sum().backward()
    with ma.no_grad():
        p -= 0.1 * ma.tensor(grad_array(p))
    assert alias is p
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    assert p.requires_grad and p.is_leaf and p._version == 1


def test_advanced_indexing_follows_pytorch_with_gradients(rng):
    x = rng.standard_normal((2, 3, 4))
    for index in [(0, slice(None), [0, 2, 3, 1, 1]), (slice(None), 1, [0, 0]),
                  (None, 1, [1, 0]), ([1, 0], 2, slice(1, 3)), (1, [True, False, True])]:
        a = ma.tensor(x, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        y, expected = a[index], t[index]
        assert y.shape == tuple(expected.shape), index
        np.testing.assert_array_equal(y.detach().numpy(), expected.detach().numpy())
        weights = rng.standard_normal(y.shape)
        y.backward(weights)
        expected.backward(torch.tensor(weights))
        np.testing.assert_allclose(grad_array(a), t.grad.numpy(), rtol=1e-12)
    assert ma.tensor(x)[0, :, [0, 2, 3, 1, 1]].shape == (3, 5)


def test_squeeze_of_a_0d_tensor_checks_the_dim():
    with pytest.raises(IndexError):
        torch.tensor(1.0).squeeze(dim=10)
    with pytest.raises(IndexError, match="out of range"):
        ma.tensor(1.0).squeeze(dim=10)
    assert ma.tensor(1.0).squeeze(-1).shape == ()


# -- in-place writes and their version counters -----------------------------------

def test_backward_after_an_optimizer_step_on_a_retained_graph_raises():
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = optim.SGD(net.parameters(), lr=0.1)
    loss = net(ma.ones(3, 2)).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*SGD.step"):
        loss.backward()


def test_writing_through_detach_is_caught_by_backward():
    w = ma.tensor([1.0, 2.0], requires_grad=True)
    y = w * 3
    z = (y * y).sum()
    y.detach()[0] = 100
    with pytest.raises(RuntimeError, match="MulBackward0.*__setitem__"):
        z.backward()


def test_writing_into_composed_attention_weights_is_caught_by_backward():
    mha = nn.MultiheadAttention(4, 2, batch_first=True, fused=False)
    x = ma.randn(1, 3, 4, requires_grad=True)
    out, _ = mha(x, x, x)
    mha.last_attn_weights[0, 0, 0, 0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_inplace_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    w = ma.ones(2, requires_grad=True)
    for write in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.__setitem__(0, 2.0),
                  lambda: w.__iadd__(1)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            write()
    with ma.no_grad():
        w.add_(1).mul_(2)
    np.testing.assert_array_equal(w.detach().numpy(), [4.0, 4.0])


def test_every_inplace_method_writes_in_place_and_bumps_the_version():
    cases = {
        "add_": (lambda t: t.add_(2.0, alpha=3), [7.0, 8.0]),
        "sub_": (lambda t: t.sub_(ma.tensor([1.0, 1.0])), [0.0, 1.0]),
        "mul_": (lambda t: t.mul_(3), [3.0, 6.0]),
        "div_": (lambda t: t.div_(2), [0.5, 1.0]),
        "zero_": (lambda t: t.zero_(), [0.0, 0.0]),
        "fill_": (lambda t: t.fill_(7), [7.0, 7.0]),
        "copy_": (lambda t: t.copy_(ma.tensor([5.0, 6.0])), [5.0, 6.0]),
        "clamp_": (lambda t: t.clamp_(min=1.5), [1.5, 2.0]),
        "masked_fill_": (lambda t: t.masked_fill_(ma.tensor([True, False]), -1.0), [-1.0, 2.0]),
        "iadd": (lambda t: t.__iadd__(1), [2.0, 3.0]),
        "isub": (lambda t: t.__isub__(1), [0.0, 1.0]),
        "imul": (lambda t: t.__imul__(2), [2.0, 4.0]),
        "itruediv": (lambda t: t.__itruediv__(4), [0.25, 0.5]),
        "setitem": (lambda t: t.__setitem__(1, 9.0) or t, [1.0, 9.0]),
    }
    for name, (write, expected) in cases.items():
        t = ma.tensor([1.0, 2.0])
        memory = t.detach().numpy()
        result = write(t)
        assert result is t and t.detach().numpy() is memory, name
        np.testing.assert_allclose(t.detach().numpy(), expected, err_msg=name)
        assert t._version == 1, name


def test_normal_and_uniform_fill_in_place_from_the_seeded_generator():
    ma.manual_seed(5)
    a = ma.empty(1000).normal_(2.0, 0.5)
    ma.manual_seed(5)
    b = ma.empty(1000).normal_(2.0, 0.5)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert abs(a.detach().numpy().mean() - 2.0) < 0.1 and abs(a.detach().numpy().std() - 0.5) < 0.05
    u = ma.zeros(1000).uniform_(-1.0, 3.0)
    assert u.detach().numpy().min() >= -1.0 and u.detach().numpy().max() < 3.0


def test_inplace_keeps_dtype_and_shape_rules_of_pytorch():
    t = ma.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        t += 1.5
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).add_(1.5)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        ma.zeros(3).add_(ma.ones(2, 3))
    f = ma.zeros(2)
    f += ma.tensor([1.0, 2.0], dtype=ma.float64)
    assert f.dtype == ma.float32


def test_inplace_on_graph_tensors_records_the_op_as_pytorch():
    def run(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = x * 2
        h += x
        h[0] = x[1] * 5
        h.relu_()
        h.sum().backward()
        return h, x.grad
    h, grad = run(ma)
    h_t, grad_t = run(torch)
    np.testing.assert_allclose(h.detach().numpy(), h_t.detach().numpy())
    np.testing.assert_allclose(np.asarray(grad), grad_t.numpy())
    assert h.grad_fn.name() == "ReLUBackward"


def test_writing_an_op_output_that_its_node_saved_raises_as_in_pytorch():
    for lib in (ma, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y.add_(1)  # Exp saved its output
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# -- names, dtypes, devices ------------------------------------------------------

def test_dtype_objects_work_everywhere_dtype_is_taken():
    assert ma.ones(2).dtype == ma.float32 == ma.float
    assert ma.zeros(2, dtype=ma.long).dtype == np.int64 == ma.int64
    assert ma.tensor([1, 2], dtype=ma.float64).dtype == ma.double
    assert ma.arange(3, dtype=ma.int32).dtype == ma.int32 == ma.int
    assert ma.full((2,), True, dtype=ma.bool).dtype == np.bool_
    assert ma.randn(2, dtype=ma.float16).dtype == ma.half
    assert ma.tensor([0.5]).to(ma.float64).dtype == ma.float64


def test_one_device_the_cpu_and_a_clear_error_for_others():
    t = ma.ones(2)
    assert t.device == ma.device("cpu") == "cpu" and t.device.type == "cpu"
    assert t.to("cpu") is t and t.cpu() is t and t.to(ma.device("cpu")) is t
    for bad in (lambda: t.to("cuda"), lambda: ma.zeros(2, device="cuda:0"), lambda: t.cuda(),
                lambda: nn.Linear(2, 2).to("cuda"), lambda: t.to("mps")):
        with pytest.raises(RuntimeError, match="CPU only"):
            bad()
    assert not ma.cuda.is_available()


def test_to_casts_keep_the_graph_for_floats_and_leave_it_for_integers():
    x = ma.tensor([1.5, 2.5], requires_grad=True)
    y = x.to(ma.float64)
    assert y.requires_grad and y.dtype == ma.float64
    y.sum().backward()
    assert grad_array(x).dtype == np.float32
    assert not x.long().requires_grad and x.long().dtype == np.int64
    assert x.type_as(ma.tensor([1])).dtype == np.int64


def test_zero_d_tensors_act_as_python_numbers():
    assert int(ma.tensor(3)) == 3 and float(ma.tensor(2.5)) == 2.5
    assert bool(ma.tensor(1.0)) and not bool(ma.tensor(0))
    assert f"{ma.tensor(3.14159):.2f}" == f"{torch.tensor(3.14159):.2f}" == "3.14"
    t = ma.tensor(2)
    assert [0, 1, 2, 3][t] == 2 and list(range(10))[t:t + 3] == [2, 3, 4]
    with pytest.raises(TypeError):
        [0, 1][ma.tensor(1.0)]


def test_creation_functions_match_pytorch():
    pairs = [
        (ma.eye(3, 4), torch.eye(3, 4)), (ma.linspace(-1, 2, 7), torch.linspace(-1, 2, 7)),
        (ma.full_like(ma.ones(2, 3), 4.5), torch.full_like(torch.ones(2, 3), 4.5)),
        (ma.as_tensor([1, 2]), torch.as_tensor([1, 2])),
        (ma.from_numpy(np.arange(3.0)), torch.from_numpy(np.arange(3.0))),
        (ma.empty(2, 3), torch.zeros(2, 3)),  # PyTorch's empty holds whatever memory held
    ]
    for ours, theirs in pairs:
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-6)
    shared = np.zeros(2)
    ma.from_numpy(shared)[0] = 7.0
    assert shared[0] == 7.0


def test_manual_seed_seeds_every_sampler():
    def draw():
        return [ma.randn(3).detach().numpy(), ma.rand(3).detach().numpy(), ma.randint(10, (3,)).detach().numpy(),
                ma.multinomial(ma.tensor([0.2, 0.3, 0.5]), 4, replacement=True).detach().numpy(),
                ma.randperm(5).detach().numpy(), F.dropout(ma.ones(8), 0.5).detach().numpy(),
                ma.empty(3).normal_().detach().numpy(), ma.randn_like(ma.ones(2)).detach().numpy(),
                nn.init.normal_(ma.empty(3)).detach().numpy()]
    ma.manual_seed(42)
    first = draw()
    ma.manual_seed(42)
    for a, b in zip(first, draw()):
        np.testing.assert_array_equal(a, b)


def test_multinomial_samples_by_weight_without_replacement():
    ma.manual_seed(0)
    probs = ma.tensor([[0.0, 0.4, 0.6], [0.5, 0.5, 0.0]])
    drawn = ma.multinomial(probs, 2)
    assert drawn.shape == (2, 2) and drawn.dtype == np.int64
    assert sorted(drawn.detach().numpy()[0].tolist()) == [1, 2] and sorted(drawn.detach().numpy()[1].tolist()) == [0, 1]
    assert ma.multinomial(ma.tensor([0.0, 1.0]), 1).tolist() == [1]
    with pytest.raises(RuntimeError, match="without replacement"):
        ma.multinomial(probs, 3)


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


def test_repr_matches_pytorch():
    for make in (lambda lib: lib.tensor([1.5, 2.0]), lambda lib: lib.tensor([1.0, 2.0]),
                 lambda lib: lib.tensor([1e-5, 1.0]), lambda lib: lib.tensor([123456.7, 1.0]),
                 lambda lib: lib.tensor(3.25), lambda lib: lib.tensor([[1.5, 2.0], [3.0, 4.0]]),
                 lambda lib: lib.tensor([1, 2]), lambda lib: lib.tensor([True, False]),
                 lambda lib: lib.tensor([float("inf"), float("nan"), 1.5]),
                 lambda lib: lib.tensor([1.0], requires_grad=True) * 2,
                 lambda lib: lib.zeros(0), lambda lib: lib.arange(2000),
                 lambda lib: lib.arange(3000.0).reshape(3, 1000),
                 lambda lib: lib.arange(3000.0).reshape(1000, 3)):
        assert repr(make(ma)) == repr(make(torch))


def test_numpy_spellings_of_reduction_arguments():
    x = ma.tensor(np.arange(6.0).reshape(2, 3))
    t = torch.tensor(np.arange(6.0).reshape(2, 3))
    for ours, theirs in [(x.sum(axis=1), t.sum(axis=1)),
                         (x.mean(axis=0, keepdims=True), t.mean(axis=0, keepdims=True)),
                         (ma.sum(x, axis=1, keepdims=True), torch.sum(t, axis=1, keepdims=True)),
                         (x.max(axis=1).values, t.max(axis=1).values),
                         (x.std(axis=1), t.std(axis=1))]:
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy())


def test_docs_pytorch_md_lists_every_public_name():
    from pathlib import Path
    text = (Path(__file__).parents[2] / "docs" / "pytorch.md").read_text()
    names = ([f"ma.{n}" for n in ma.__all__] + [f"F.{n}" for n in F.__all__]
             + [f"nn.{n}" for n in nn.__all__] + [f"optim.{n}" for n in optim.__all__])
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"run PYTHONPATH=. python docs/pytorch_names.py (missing: {missing})"


def test_writes_through_views_reach_the_base_and_its_graph():
    x = ma.ones(3)
    x[0].add_(1)  # outside a graph a view writes into its base, as in PyTorch
    x[1:].mul_(3)
    np.testing.assert_array_equal(x.detach().numpy(), [2.0, 3.0, 3.0])
    leaf_ = ma.ones(2, requires_grad=True)
    for write in (lambda: leaf_[0].add_(1), lambda: leaf_.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            write()
    assert leaf_.detach().numpy().tolist() == [1.0, 1.0]  # refused before anything was written
    h = leaf_ * 2
    h[0].mul_(3)  # through a view: h's graph records it (PyTorch's CopySlices)
    h.sum().backward()
    np.testing.assert_array_equal(np.asarray(leaf_.grad), [6.0, 2.0])
    leaf_.grad = None
    g = leaf_ * leaf_
    row = g[0]
    row *= leaf_[1]  # in a variable, not followed by g[0] = row: g's graph still knows
    g.sum().backward()
    np.testing.assert_array_equal(np.asarray(leaf_.grad), [2.0, 3.0])


def test_a_generator_is_a_stream_of_its_own():
    draws = [lambda g: ma.randn(3, generator=g), lambda g: ma.rand(2, generator=g),
             lambda g: ma.randint(0, 9, (4,), generator=g), lambda g: ma.randperm(5, generator=g),
             lambda g: ma.multinomial(ma.tensor([0.3, 0.7]), 3, True, generator=g),
             lambda g: ma.empty(3).normal_(generator=g), lambda g: ma.empty(2).uniform_(generator=g),
             lambda g: nn.init.normal_(ma.empty(2), generator=g)]
    first = [draw(ma.Generator().manual_seed(7)).detach().numpy() for draw in draws]
    ma.manual_seed(0)
    ma.randn(5)  # the global stream moves on; the generator's does not care
    for draw, expected in zip(draws, first):
        np.testing.assert_array_equal(draw(ma.Generator().manual_seed(7)).detach().numpy(), expected)
    from microattn.utils.data import DataLoader, TensorDataset, random_split
    split = [list(s) for s in random_split(range(6), [3, 3], generator=ma.Generator().manual_seed(1))]
    assert split == [list(s) for s in random_split(range(6), [3, 3],
                                                    generator=ma.Generator().manual_seed(1))]
    loader = DataLoader(TensorDataset(ma.arange(6)), batch_size=6, shuffle=True,
                        generator=ma.Generator().manual_seed(2))
    again = DataLoader(TensorDataset(ma.arange(6)), batch_size=6, shuffle=True,
                       generator=ma.Generator().manual_seed(2))
    assert next(iter(loader))[0].tolist() == next(iter(again))[0].tolist()


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


def test_iterating_a_0d_tensor_is_a_type_error():
    raises_like_torch(lambda: list(ma.tensor(1.0)), lambda: list(torch.tensor(1.0)),
                      "iteration over a 0-d tensor")


def test_iterating_gives_the_rows_with_gradient():
    x = ma.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(np.asarray(rows[1].detach().numpy()), [2.0, 3.0])
    (rows[0].sum() + 2 * rows[2].sum()).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [[1, 1], [0, 0], [2, 2]])
    assert list(ma.zeros(0, 3)) == []


@pytest.mark.parametrize("element", [2.0, 1.0, 1, True], ids=["2.0", "1.0", "1", "True"])
@pytest.mark.parametrize("shape", [(2, 2), (3,), ()])
def test_membership_looks_at_every_entry_as_pytorch(element, shape):
    assert (element in ma.ones(shape)) == (element in torch.ones(shape))
    assert (ma.tensor(1.0) in ma.ones(shape)) == (torch.tensor(1.0) in torch.ones(shape))


def test_membership_of_a_list_is_refused_as_pytorch():
    raises_like_torch(lambda: [1.0] in ma.ones(2), lambda: [1.0] in torch.ones(2),
                      r"__contains__ only supports Tensor or scalar")
