"""In-place ops and writes through views (compat/inplace.py), guarded by version counters (compat/versions.py)."""
import numpy as np
import pytest

import microattn as ma
from microattn import nn, optim


torch = pytest.importorskip("torch")


def grad_array(t):
    return np.asarray(t.grad)


def test_augmented_assignment_under_no_grad_updates_the_parameter_in_place():
    p = nn.Parameter(ma.tensor([1.0, 2.0]))
    alias = p
    (p * p).sum().backward()
    with ma.no_grad():
        p -= 0.1 * ma.tensor(grad_array(p))
    assert alias is p
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    assert p.requires_grad and p.is_leaf and p._version == 1


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


def test_writes_through_views_reach_the_base_and_its_graph():
    x = ma.ones(3)
    x[0].add_(1)  # outside a graph a view writes into its base, as in PyTorch
    x[1:].mul_(3)
    np.testing.assert_array_equal(x.numpy(), [2.0, 3.0, 3.0])
    leaf_ = ma.ones(2, requires_grad=True)
    for write in (lambda: leaf_[0].add_(1), lambda: leaf_.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            write()
    assert leaf_.detach().numpy().tolist() == [1.0, 1.0]  # refused before anything was written
    h = leaf_ * 2
    h[0].mul_(3)  # through a view: h's graph records it (PyTorch's CopySlices)
    h.sum().backward()
    np.testing.assert_array_equal(leaf_.grad.numpy(), [6.0, 2.0])
    leaf_.grad = None
    g = leaf_ * leaf_
    row = g[0]
    row *= leaf_[1]  # in a variable, not followed by g[0] = row: g's graph still knows
    g.sum().backward()
    np.testing.assert_array_equal(leaf_.grad.numpy(), [2.0, 3.0])
