"""The backward engine: graph walk, accumulation, grad mode, hooks, freeing, errors."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import microattn as ma
from microattn.core.grad_mode import state
from helpers import assert_close, leaf


def test_chain_of_10000_ops_backpropagates_without_recursion():
    x = leaf([0.5])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert_close(x.grad, [1.0001 ** 10_000], rtol=1e-9)


def test_tensor_used_twice_receives_the_sum_of_both_gradients():
    a, b = leaf([1.0, -2.0]), leaf([3.0, 4.0])
    (a * b + a).backward(np.ones(2))
    assert_close(a.grad, b.detach().numpy() + 1)
    assert_close(b.grad, a.detach().numpy())


def test_shared_intermediate_collects_every_path_before_flowing_on():
    # y = h*h + h with h = 3a:  dy/da = (2h + 1) * 3
    a = leaf([0.5, -1.0, 2.0])
    h = a * 3.0
    (h * h + h).backward(np.ones(3))
    assert_close(a.grad, (2 * h.detach().numpy() + 1) * 3)


def test_no_grad_records_no_graph():
    a = leaf([1.0, 2.0])
    with ma.no_grad():
        assert not ma.is_grad_enabled()
        y = a * 2.0
    assert ma.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf


def test_no_grad_as_decorator_and_enable_grad_inside_it():
    a = leaf([1.0, 2.0])

    @ma.no_grad()
    def double(t):
        return t * 2.0

    assert double(a).grad_fn is None
    with ma.no_grad():
        with ma.enable_grad():
            y = a * 2.0
        z = a * 2.0
    assert y.requires_grad and y.grad_fn is not None
    assert z.grad_fn is None
    y.backward(np.ones(2))
    assert_close(a.grad, [2.0, 2.0])


def test_leaf_hook_sees_the_gradient_and_can_replace_it():
    a = leaf([1.0, 2.0])
    seen = []
    handle = a.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    (a * 3.0).backward(np.ones(2))
    assert_close(seen[0], [3.0, 3.0])
    assert_close(a.grad, [3.0, 3.0])

    handle.remove()
    a.grad = None
    doubled = a.register_hook(lambda g: g * 2.0)
    (a * 3.0).backward(np.ones(2))
    assert len(seen) == 1, "a removed hook must not run"
    assert_close(a.grad, [6.0, 6.0])
    doubled.remove()


def test_non_leaf_hook_sees_the_gradient_and_replaces_what_flows_on():
    a = leaf([1.0, 2.0])
    h = a * 3.0
    seen = []
    h.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    h.register_hook(lambda g: g * 0.0 + 1.0)
    (h * h).backward(np.ones(2))
    assert_close(seen[0], 2 * h.detach().numpy())  # dL/dh before replacement
    assert_close(a.grad, [3.0, 3.0])   # 1 (the replacement) * dh/da

    a.grad = None
    h = a * 3.0
    h.register_hook(lambda g: g * 0.0).remove()
    (h * h).backward(np.ones(2))
    assert_close(a.grad, 2 * h.detach().numpy() * 3.0)


def test_retain_grad_keeps_non_leaf_gradient_which_is_none_otherwise():
    a = leaf([1.0, 2.0])
    h = a * 3.0
    kept = a * 2.0
    kept.retain_grad()
    (h * kept).backward(np.ones(2))
    assert h.grad is None
    assert_close(kept.grad, h.detach().numpy())
    assert kept.retains_grad and not h.retains_grad


def test_second_backward_through_a_freed_graph_raises():
    a = leaf(2.0)
    y = a * a
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    a = leaf(2.0)
    y = a * a
    y.backward(retain_graph=True)
    y.backward()
    assert_close(a.grad, 2 * (2 * 2.0))


def test_backward_on_non_scalar_without_gradient_says_what_to_pass():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"gradient=.*\(2,\)"):
        y.backward()


def test_nodes_know_their_name_inputs_and_module_path():
    a, b, c = leaf([1.0]), leaf([2.0]), leaf([3.0], requires_grad=False)
    state.module_path = "decoder.self_attn"  # as Module.__call__ sets it
    try:
        y = a * b
        z = y + c
    finally:
        state.module_path = ""
    outside = a + b

    assert y.grad_fn.name() == "MulBackward"
    assert y.grad_fn.module_path == z.grad_fn.module_path == "decoder.self_attn"
    assert outside.grad_fn.module_path == ""
    (na, ia), (nb, ib) = y.grad_fn.next_functions
    assert (na.name(), ia, nb.name(), ib) == ("AccumulateGrad", 0, "AccumulateGrad", 0)
    assert na.variable is a and nb.variable is b
    assert z.grad_fn.next_functions == ((y.grad_fn, 0), (None, 0))
    assert y.grad_fn.shape == (1,)


def _step(w, x):
    loss = ((x @ w).tanh() * 0.5 + x.mean()).sum()
    loss.backward()
    w.grad = None
    return loss.item()


def test_training_loop_does_not_grow_memory():
    ma.manual_seed(0)
    w = ma.randn(8, 8, requires_grad=True)
    x = ma.randn(4, 8)
    for _ in range(100):  # warm up: caches, interned shapes, first-time allocations
        _step(w, x)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            _step(w, x)
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < 200_000, f"memory grew by {growth} bytes over 1000 steps"


@pytest.mark.parametrize("run_backward", [False, True])
def test_graph_of_a_step_is_freed_with_the_loss_without_the_cycle_collector(run_backward):
    w = leaf(np.ones((3, 3)))
    x = ma.tensor(np.arange(6.0).reshape(2, 3))
    gc.disable()  # freed by reference counting alone: the graph holds no cycles
    try:
        hidden = (x @ w).tanh()
        loss = (hidden * hidden).sum()
        nodes = [weakref.ref(loss.grad_fn), weakref.ref(hidden.grad_fn)]
        outputs = [weakref.ref(loss), weakref.ref(hidden)]
        if run_backward:
            loss.backward()
        del loss, hidden
        assert [r() for r in nodes + outputs] == [None] * 4
        assert w.grad_fn is None and (w.grad is not None) == run_backward
    finally:
        gc.enable()


def test_float32_stays_float32_through_forward_and_backward():
    ma.manual_seed(0)
    w = ma.randn(3, 4, requires_grad=True)
    x = ma.randn(2, 3)
    hidden = (x @ w).tanh() * 0.5 + 1.0
    hidden.retain_grad()
    loss = (hidden.exp() / 2.0).sum()
    assert hidden.dtype == loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == hidden.grad.dtype == np.float32


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating"):  # as PyTorch
        ma.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating"):  # as PyTorch
        ma.tensor([True, False]).requires_grad_()


def test_matmul_shape_error_names_the_op_and_both_shapes():
    a, b = ma.randn(2, 3), ma.randn(4, 5)
    with pytest.raises(ValueError) as info:
        a @ b
    message = str(info.value)
    assert "matmul" in message.lower()
    assert "(2, 3)" in message and "(4, 5)" in message


def test_grads_stay_owned_writable_arrays_of_the_tensor_dtype():
    """Leaf and retained grads are Tensors without a graph holding arrays (also 0-d,
    also after accumulating), writable (not the read-only broadcast view a sum's
    backward hands on) and not the caller's gradient array."""
    x = ma.tensor(np.float32(2.0), requires_grad=True)
    for _ in range(2):
        (x * 3.0).backward()
    assert isinstance(x.grad, ma.Tensor) and x.grad.grad_fn is None
    assert not x.grad.requires_grad
    assert isinstance(x.grad.numpy(), np.ndarray) and x.grad.shape == () and x.grad.item() == 6.0
    assert x.grad.sum().item() == 6.0  # methods work on it, as p.grad.norm() in PyTorch
    y = leaf(np.ones((2, 3))) * 2.0
    y.retain_grad()
    y.sum().backward()
    y.grad[0, 0] = 5.0  # a broadcast view would refuse this
    gradient = np.ones((2, 3))
    z = leaf(np.ones((2, 3))) * 2.0
    z.retain_grad()
    z.backward(gradient)
    assert z.grad.numpy() is not gradient and z.grad.dtype == np.float64


def test_backward_returning_the_wrong_number_of_gradients_names_the_op():
    class Scale(ma.Function):
        def forward(ctx, x, factor):
            ctx.factor = factor
            return x * factor

        def backward(ctx, g):
            return g * ctx.factor  # forgot the None for `factor`

    with pytest.raises(RuntimeError, match=r"ScaleBackward returned 1 gradient.*took 2"):
        Scale.apply(leaf(np.ones(3)), 2.0).sum().backward()


def test_retain_grad_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ma.ones(3).retain_grad()


def test_a_node_that_receives_no_gradient_does_not_stall_the_nodes_below_it():
    """A backward that returns None (a stop-gradient) still lets every other path through."""
    class StopGradient(ma.Function):
        def forward(ctx, x):
            return x.copy()

        def backward(ctx, g):
            return None

    x = leaf(np.array([1.0, 2.0]))
    doubled = x * 2
    (StopGradient.apply(doubled.exp()).sum() + doubled.sum()).backward()
    assert_close(x.grad, [2.0, 2.0])


def test_replacing_a_leafs_data_with_another_shape():
    """After ``p.data = arr`` of a new shape, a new forward works; backward through a graph
    recorded before the change says what happened instead of summing into the new shape."""
    p = leaf(np.ones(3))
    (p * 2).sum().backward()
    p.data, p.grad = np.ones(4), None
    (p * 2).sum().backward()
    assert_close(p.grad, np.full(4, 2.0))
    stale = (p * 3).sum()
    p.data = np.ones(1)
    with pytest.raises(RuntimeError, match="run the forward pass again"):
        stale.backward()


torch = pytest.importorskip("torch")


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


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


def test_an_op_error_names_the_op_and_shapes_and_keeps_numpys_error_as_its_cause():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"Add\(\(2, 3\), \(4, 5\)\)") as info:
        a + b
    assert isinstance(info.value.__cause__, ValueError)  # numpy's, with its traceback
    assert "broadcast" in str(info.value.__cause__)


def test_a_hook_handle_removes_only_its_own_registration():
    # The same function registered twice runs twice; one handle's remove() leaves the other.
    a = leaf([1.0, 2.0])
    doubled = lambda g: g * 2.0  # noqa: E731
    first = a.register_hook(doubled)
    a.register_hook(doubled)
    first.remove()
    (a * 1.0).backward(np.ones(2))
    assert_close(a.grad, [2.0, 2.0])
