"""meshgrid(*tensors, indexing=): grids and gradients as torch.meshgrid."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import microattn as ma

torch = pytest.importorskip("torch")


@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       indexing=st.sampled_from(["ij", "xy"]), as_list=st.booleans())
def test_grids_and_gradients_match_pytorch(sizes, indexing, as_list):
    rng = np.random.default_rng(len(sizes))
    arrays = [rng.standard_normal(n) for n in sizes]
    ours = [ma.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    grids = ma.meshgrid(ours, indexing=indexing) if as_list else ma.meshgrid(
        *ours, indexing=indexing)
    expected = torch.meshgrid(*theirs, indexing=indexing)
    weights = [rng.standard_normal(tuple(e.shape)) for e in expected]
    for g, e in zip(grids, expected, strict=True):
        np.testing.assert_array_equal(g.detach().numpy(), e.detach().numpy())
    sum((g * ma.tensor(w)).sum() for g, w in zip(grids, weights)).backward()
    sum((e * torch.tensor(w)).sum() for e, w in zip(expected, weights)).backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_default_is_ij_and_bad_indexing_is_refused():
    a, b = ma.arange(2), ma.arange(3)
    assert ma.meshgrid(a, b)[0].shape == (2, 3)
    with pytest.raises(ValueError, match="indexing"):
        ma.meshgrid(a, b, indexing="ji")
    with pytest.raises(RuntimeError, match="1-d"):
        ma.meshgrid(ma.zeros(2, 2))
