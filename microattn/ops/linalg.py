"""Matrix multiplication, with numpy's and PyTorch's rules for 1-D and batched operands."""
import numpy as np

from ..core import Function


def _check_aligned(a_shape, b_shape):
    """The contracted sizes must agree: the last dim of a, and dim -2 of b (dim 0 if b is 1-D)."""
    if not a_shape or not b_shape:
        raise ValueError(f"both operands need at least one dimension, got shapes "
                         f"{a_shape} and {b_shape}")
    a_dim, b_dim = len(a_shape) - 1, max(len(b_shape) - 2, 0)
    if a_shape[a_dim] != b_shape[b_dim]:
        raise ValueError(f"shapes {a_shape} and {b_shape} are not aligned: "
                         f"{a_shape[a_dim]} (dim {a_dim} of the first) != "
                         f"{b_shape[b_dim]} (dim {b_dim} of the second)")


class Matmul(Function):
    """z = a @ b, batched over leading dims that broadcast.
    dL/da = g @ b^T,  dL/db = a^T @ g   (^T swaps the last two axes)

    A 1-D a is a row (1, k) and a 1-D b a column (k, 1), and z loses that axis,
    as in numpy; backward puts the axis back on a, b and g, multiplies as for
    matrices, and drops it from the gradient again. Gradients over broadcast
    batch dims come out in the batch shape of z; the engine sums them down.
    """

    def forward(ctx, a, b):
        _check_aligned(np.shape(a), np.shape(b))
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        # b first: when both are vectors g is 0-d and only gains the row axis after.
        if b_vector:
            b, g = b[:, None], g[..., None]
        if a_vector:
            a, g = a[None, :], g[..., None, :]
        da = db = None
        if need_a:
            da = g @ np.swapaxes(b, -1, -2)
            if a_vector:
                da = da[..., 0, :]
        if need_b:
            db = np.swapaxes(a, -1, -2) @ g
            if b_vector:
                db = db[..., 0]
        return da, db
