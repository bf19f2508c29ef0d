"""scatter_, index_fill(_), masked_scatter(_): values and gradients as PyTorch's."""
import numpy as np
import pytest

import microattn as ma

torch = pytest.importorskip("torch")


def _both(code, arrays):
    """Run ``code`` (using lib, x, s: float64 leaves) under both libraries; compare the
    answer and the leaves' gradients for one random projection."""
    results = []
    for lib in (ma, torch):
        leaves = {k: lib.tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
        out = eval(code, {"lib": lib, **leaves})
        w = np.random.default_rng(0).standard_normal(tuple(out.shape))
        (out * lib.tensor(w)).sum().backward()
        value = out.detach().numpy() if lib is torch else out.detach().numpy()
        grads = {k: (np.zeros(v.shape) if t.grad is None else
                     (t.grad.numpy() if lib is torch else t.grad.numpy()))
                 for (k, t), v in zip(leaves.items(), arrays.values())}
        results.append((np.array(value), grads))
    (ov, og), (tv, tg) = results
    np.testing.assert_allclose(ov, tv, rtol=1e-12)
    for k in og:
        np.testing.assert_allclose(og[k], tg[k], rtol=1e-12, err_msg=k)


rng = np.random.default_rng(3)
X, S = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
V = np.array(2.5)


@pytest.mark.parametrize("code", [
    "(x * 1).scatter_(1, lib.tensor([[2], [0], [3]]), s[:, :1] * 1)",
    "(x * 1).scatter_(0, lib.tensor([[1, 2, 0, 1]]), 7.0)",
    "x.index_fill(1, lib.tensor([0, 2]), -1.0)",
    "x.index_fill(0, lib.tensor([2]), v)",
    "(x * 1).index_fill_(1, lib.tensor([3, 1]), v)",
    "x.masked_scatter(x > 0, s)",
    "(x * 1).masked_scatter_(lib.tensor([True, False, True, True]), s)",
    "x.masked_scatter(x > 100, s)",
])
def test_matches_pytorch(code):
    _both(code, {"x": X, "s": S, "v": V})


def test_in_place_forms_write_and_count_versions():
    x = ma.zeros(2, 3)
    assert x.index_fill_(1, ma.tensor([1]), 5.0) is x and x.detach().numpy()[:, 1].tolist() == [5.0,
                         5.0]
    assert x.masked_scatter_(x == 0, ma.arange(6.0)) is x
    np.testing.assert_array_equal(x.detach().numpy(), [[0.0, 5.0, 1.0], [2.0, 5.0, 3.0]])
    with pytest.raises(RuntimeError, match="selects 4 elements but source has only 2"):
        ma.zeros(4).masked_scatter(ma.ones(4).bool(), ma.ones(2))
    with pytest.raises(IndexError, match="out of range"):
        ma.zeros(2, 3).index_fill(1, ma.tensor([3]), 1.0)
    assert ma.index_fill(ma.zeros(2), 0, ma.tensor([0]), 1.0).detach().numpy().tolist() == [1.0,
                         0.0]
