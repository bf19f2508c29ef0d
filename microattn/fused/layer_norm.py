"""Layer normalisation over the trailing dims, in one node."""
import math

import numpy as np

from ..core import Function
from ..core.tensor import working
from .softmax import _row_sum


class LayerNorm(Function):
    """y = x_hat * weight + bias,  x_hat = (x - mu) / sigma,  sigma = sqrt(var + eps),
    mu and var (biased) taken over the last ``ndim`` dims, N elements each.

    Backward. With g = dL/dy, write g_hat = g * weight (dL/dx_hat). Within one
    normalised group, x_hat_i depends on every x_j through mu and sigma:

        d mu / d x_j    = 1/N
        d sigma / d x_j = (x_j - mu) / (N sigma) = x_hat_j / N
        d x_hat_i / d x_j = (delta_ij - 1/N) / sigma - (x_i - mu) x_hat_j / (N sigma^2)
                          = (delta_ij - 1/N - x_hat_i x_hat_j / N) / sigma

    so dL/dx_j = sum_i g_hat_i d x_hat_i / d x_j gives

        dL/dx = (1/sigma) * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))

    with the means over the normalised dims. The affine part is elementwise:
    dL/dweight = g * x_hat and dL/dbias = g, summed over the leading dims.

    The normalised dims are the trailing ones, so x is folded into rows (M, N)
    and every mean is a row sum (_row_sum, or einsum for sums of products,
    which needs no array for the product).
    """

    def forward(ctx, x, weight, bias, ndim, eps):
        dtype = x.dtype
        x, weight, bias = working(x), working(weight), working(bias)  # float16 in float32
        n = math.prod(x.shape[x.ndim - ndim:])
        # M spelled out, not -1 (numpy cannot infer it when N = 0); and N = 0 (a 0
        # in normalized_shape) leaves nothing to normalise, so divide by 1, not 0.
        rows = x.reshape(math.prod(x.shape[:x.ndim - ndim]), n)  # (..., normalized) -> (M, N)
        count = max(n, 1)
        x_hat = rows - _row_sum(rows) / count
        var = np.einsum("ij,ij->i", x_hat, x_hat)[:, None] / count
        inv_sigma = 1 / np.sqrt(var + eps)               # (M, 1)
        x_hat *= inv_sigma
        ctx.save_for_backward(x_hat, inv_sigma, weight)
        ctx.n, ctx.count, ctx.normalized_shape = n, count, x.shape[x.ndim - ndim:]
        y = x_hat if weight is None else x_hat * weight.reshape(n)
        if bias is not None:
            y = y + bias.reshape(n)
        return y.reshape(x.shape).astype(dtype, copy=False)

    def backward(ctx, g):
        x_hat, inv_sigma, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        n, count = ctx.n, ctx.count
        g_rows = working(g).reshape(x_hat.shape)                  # (..., normalized) -> (M, N)
        dx = dweight = dbias = None
        if needs_x:
            dx = g_rows * weight.reshape(n) if weight is not None else g_rows.copy()
            mean_g_hat_x_hat = np.einsum("ij,ij->i", dx, x_hat)[:, None] / count
            dx -= _row_sum(dx) / count
            dx -= x_hat * mean_g_hat_x_hat
            dx *= inv_sigma
            dx = dx.reshape(g.shape)
        if needs_weight:
            dweight = np.einsum("ij,ij->j", g_rows, x_hat).reshape(ctx.normalized_shape)
        if needs_bias:
            dbias = g_rows.sum(axis=0).reshape(ctx.normalized_shape)
        return dx, dweight, dbias, None, None
