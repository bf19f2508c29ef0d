"""matmul: every rank combination from 1-D to 4-D, broadcast batch dims, errors."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microattn as ma
from helpers import check, leaf, shapes, torch_parity, transposed_leaf
import warnings

torch = pytest.importorskip("torch")

RANKS = [(ra, rb) for ra in range(1, 5) for rb in range(1, 5)]


@st.composite
def matmul_shapes(draw, rank_a, rank_b):
    """Shapes of the given ranks that multiply: a (..., n, k) @ b (..., k, m), with
    batch dims that broadcast (missing or 1 on either side)."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_rank = max(rank_a, rank_b, 2) - 2
    batch = draw(shapes(min_dims=batch_rank, max_dims=batch_rank, max_side=3))

    def batch_of(rank):
        own = batch[len(batch) - max(rank - 2, 0):]
        return tuple(1 if draw(st.booleans()) else s for s in own)

    a = (k,) if rank_a == 1 else batch_of(rank_a) + (n, k)
    b = (k,) if rank_b == 1 else batch_of(rank_b) + (k, m)
    return a, b


def data(*shape_list):
    rng = np.random.default_rng(sum(map(len, shape_list)))
    return [rng.standard_normal(s) for s in shape_list]


@pytest.mark.parametrize("rank_a, rank_b", RANKS)
@settings(max_examples=8)
@given(st.data())
def test_matmul_gradcheck_every_rank(rank_a, rank_b, drawn):
    a, b = data(*drawn.draw(matmul_shapes(rank_a, rank_b)))
    assert ma.gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])
    # Non-contiguous operands, as a transposed weight or a permuted batch would be.
    assert ma.gradcheck(lambda x, y: x @ y, [transposed_leaf(a), transposed_leaf(b)])


@pytest.mark.parametrize("rank_a, rank_b", RANKS)
@settings(max_examples=8)
@given(st.data())
def test_matmul_matches_torch_every_rank(rank_a, rank_b, drawn):
    arrays = data(*drawn.draw(matmul_shapes(rank_a, rank_b)))
    torch_parity(lambda x, y: x.matmul(y), torch.matmul, arrays)


@pytest.mark.parametrize("a_shape, b_shape", [
    ((2, 1, 3, 4), (5, 4, 2)),   # batch (2, 1) against (5,): result batch (2, 5)
    ((3, 4), (2, 2, 4, 5)),      # a matrix shared by every batch
    ((2, 2, 3, 4), (4, 5)),      # a weight shared by every batch (the Linear case)
    ((4,), (2, 3, 4, 1)),        # a vector against a batch of matrices
    ((2, 3, 4), (4,)),
])
def test_matmul_broadcast_batches(a_shape, b_shape):
    arrays = data(a_shape, b_shape)
    assert ma.gradcheck(lambda x, y: x @ y, [leaf(a) for a in arrays])
    torch_parity(lambda x, y: x @ y, lambda x, y: x @ y, arrays)


def test_vector_dot_vector_is_a_0d_tensor():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    z = a @ b
    assert z.shape == () and z.item() == 32.0
    z.backward()
    np.testing.assert_array_equal(a.grad, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])


def test_only_inputs_that_need_a_gradient_get_one():
    a = leaf(np.ones((2, 3)))
    b = np.arange(12.0).reshape(3, 4)             # a plain array: a constant
    frozen = leaf(np.ones((4, 2)), requires_grad=False)
    (a @ b @ frozen).backward(np.ones((2, 2)))
    np.testing.assert_allclose(a.grad, np.ones((2, 2)) @ frozen.detach().numpy().T @ b.T,
                               rtol=1e-12)
    assert frozen.grad is None


def test_reflected_matmul_with_an_array_on_the_left():
    b = leaf(np.arange(6.0).reshape(3, 2))
    z = np.ones((1, 3)) @ b
    assert isinstance(z, ma.Tensor) and z.shape == (1, 2)
    np.testing.assert_array_equal(z.detach().numpy(), [[6.0, 9.0]])


def test_float32_stays_float32():
    a = ma.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    b = ma.tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    z = a @ b
    z.backward(np.ones((2, 4), dtype=np.float32))
    assert z.dtype == a.grad.dtype == b.grad.dtype == np.float32


def test_shape_mismatch_names_the_op_both_shapes_and_the_dims():
    with pytest.raises(ValueError) as error:
        leaf(np.ones((2, 3))) @ leaf(np.ones((4, 5)))
    message = str(error.value)
    assert message.startswith("Matmul((2, 3), (4, 5)): ")
    assert message.endswith("shapes (2, 3) and (4, 5) are not aligned: "
                            "3 (dim 1 of the first) != 4 (dim 0 of the second)")


@pytest.mark.parametrize("a_shape, b_shape, detail", [
    ((3,), (4,), "3 (dim 0 of the first) != 4 (dim 0 of the second)"),
    ((2, 2, 3), (5,), "3 (dim 2 of the first) != 5 (dim 0 of the second)"),
    ((), (3,), "at least one dimension"),
])
def test_other_mismatches(a_shape, b_shape, detail):
    with pytest.raises(ValueError, match=re.escape(detail)):
        leaf(np.ones(a_shape)) @ leaf(np.ones(b_shape))


def test_batch_dims_that_do_not_broadcast_are_an_error():
    with pytest.raises(ValueError, match=r"Matmul\(\(2, 3, 4\), \(3, 4, 5\)\)"):
        leaf(np.ones((2, 3, 4))) @ leaf(np.ones((3, 4, 5)))


@given(st.sampled_from([(2, 1, 3), (0, 2, 3), (2, 0, 3), (2, 3, 0), (1, 1, 1)]),
       st.sampled_from([0, 1, 2, 4]))
def test_matmul_with_a_shared_matrix_and_empty_sides(a_shape, out):
    """(..., n) @ (n, m): the batch-of-rows backward, with any side empty."""
    b = np.random.default_rng(1).standard_normal((a_shape[-1], out))
    bt = torch.tensor(b, requires_grad=True)
    ours_b = ma.tensor(b, requires_grad=True)
    data = np.random.default_rng(2).standard_normal(a_shape)
    check(lambda x: x @ ours_b, lambda x: x @ bt, data)
    np.testing.assert_allclose(np.asarray(ours_b.grad), bt.grad.numpy(), rtol=1e-10, atol=1e-12)
