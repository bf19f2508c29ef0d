"""Fused layer normalisation: one node, with its backward derived by hand."""
import numpy as np

from ..autograd import Function


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
    dL/dweight = g * x_hat and dL/dbias = g, summed over the leading dims (the
    engine does that sum, as for any broadcast argument).
    """

    def forward(ctx, x, weight, bias, ndim, eps):
        axes = tuple(range(-ndim, 0))
        # N = 0 (normalized_shape holds a 0) leaves nothing to normalise and the
        # output empty; dividing by 1 then spares numpy's "mean of empty slice".
        count = max(int(np.prod(x.shape[-ndim:])), 1)

        def mean(a):
            return a.sum(axis=axes, keepdims=True) / count

        centered = x - mean(x)
        inv_sigma = 1 / np.sqrt(mean(centered * centered) + eps)
        x_hat = centered * inv_sigma
        ctx.save_for_backward(x_hat, inv_sigma, weight)
        ctx.axes, ctx.mean = axes, mean
        y = x_hat if weight is None else x_hat * weight
        return y if bias is None else y + bias

    def backward(ctx, g):
        x_hat, inv_sigma, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        dx = None
        if needs_x:
            g_hat = g if weight is None else g * weight
            mean = ctx.mean
            dx = inv_sigma * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))
        dweight = g * x_hat if needs_weight else None
        dbias = g if needs_bias else None
        return dx, dweight, dbias, None, None
