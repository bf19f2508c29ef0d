"""Writes through a view of a tensor in a graph (indexing, reshape/view, transpose,
slicing, chained, augmented, with the written tensor among the operands) give
PyTorch's values and gradients (its CopySlices); a backward through an array
saved before the write still raises."""
import numpy as np
import pytest

import microattn as ma

torch = pytest.importorskip("torch")

SNIPPETS = {  # x and w: (2, 3, 4) float64 leaves; the answer in out
    "d2l_masked_softmax": ("h = x * 2\nX = h.reshape(-1, 4)\n"
                           "valid = lib.tensor([1, 2, 3, 4, 2, 3])\n"
                           "mask = lib.arange(4)[None, :] < valid[:, None]\n"
                           "X[~mask] = -1e6\nout = lib.softmax(X.reshape(2, 3, 4), -1) * w"),
    "index_method": "h = x * 1\nh[0].mul_(w[0])\nout = h * 3",
    "view_setitem": "h = x * 1\nh.view(-1)[::5] = w.view(-1)[:5] * 2\nout = h.sin()",
    "transpose": "h = x * 1\nh.transpose(1, 2).add_(w.transpose(1, 2))\nout = h.exp()",
    "permute_slice": "h = x * 1\nh.permute(2, 0, 1)[1:3] = w[..., :2].permute(2, 0, 1)\nout = h * h",
    "chained_slices": ("h = x * 1\nv = h[:, 1:][:, :, ::2]\nv *= w[:, 1:, ::2]\n"
                       "out = (h * h).sum(0) + v.sum()"),
    "augmented_in_a_variable": "h = x * 1\nv = h[0]\nv += w[0]\nout = h * h",
    "twice_through_views": ("h = x * 1\ng = h.view(-1)\ng[:5] = w.view(-1)[:5]\n"
                            "g[3:8] *= 2\nout = h * 1 + g.view(2, 3, 4)"),
    "operand_from_the_base": "h = x * 1\nh[0] += h[1].exp()\nout = h * h",
    "written_view_reused": "h = x * 1\nv = h[1]\nv.mul_(w[0])\nout = v * h",
    "squeeze_unsqueeze": "h = x * 1\nh[:1].squeeze(0).unsqueeze(0).sub_(w[:1])\nout = h.tanh()",
}


def _run(code, lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    names = {"lib": lib, "x": x, "w": w}
    exec(code, names)
    out = names["out"]
    weights = np.random.default_rng(1).standard_normal(tuple(out.shape))
    (out * lib.tensor(weights)).sum().backward()
    plain = (lambda t: t.detach().numpy()) if lib is torch else (lambda t: t.detach().detach().numpy())
    return plain(out), plain(x.grad), (np.zeros((2, 3, 4)) if w.grad is None else plain(w.grad))


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_values_and_gradients_match_pytorch(name):
    for ours, theirs, what in zip(_run(SNIPPETS[name], ma), _run(SNIPPETS[name], torch),
                                  ("out", "dx", "dw")):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15, err_msg=what)


def test_gradcheck_through_a_view_write():
    def masked(x, w):
        h = x * 1
        v = h.reshape(-1)[1::3]  # a strided view
        v.mul_(w)
        return h.tanh()
    rng = np.random.default_rng(2)
    assert ma.gradcheck(masked, [ma.tensor(rng.standard_normal((3, 4)), requires_grad=True),
                                 ma.tensor(rng.standard_normal(4), requires_grad=True)])


def test_a_saved_array_written_through_a_view_is_still_caught():
    for lib in (ma, torch):
        x = lib.ones(2, 3, requires_grad=True)
        h = x.exp()  # exp keeps its output for backward
        h.view(-1)[:2] = 0.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            h.sum().backward()


def test_views_of_leaves_are_still_refused_and_no_grad_writes_just_write():
    leaf = ma.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        leaf.view(-1)[0].add_(1)
    h = leaf * 1
    with ma.no_grad():
        h[0].fill_(5.0)  # outside grad mode: only the memory, as in PyTorch
    assert h.detach().numpy().tolist() == [[5.0, 5.0], [1.0, 1.0]]


def test_an_operand_with_a_deep_graph_needs_no_recursion():
    x = ma.ones(3, requires_grad=True)
    h = x * 1
    deep = h[1:]
    for _ in range(10_000):
        deep = deep + 1.0
    h[:2] = deep  # deep's graph reaches h's node: read as of before the write
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 2.0])
