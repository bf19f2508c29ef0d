"""y = x W^T + b in one node, as three 2-D matrix products."""
import math

from ..core import Function
from ..core.tensor import working


class Linear(Function):
    """y = x W^T + b on the last dim: x (..., in), W (out, in), b (out,) -> (..., out).

    Fold the leading dims of x into rows, X (N, in) and G = dL/dY (N, out); then
    Y = X W^T + b row by row, and

        dL/dX = G W,   dL/dW = G^T X,   dL/db = the sum of G's rows

    three 2-D matrix products, each one BLAS call on contiguous operands, where a
    batched matmul would make one call per leading index and sum the weight's
    gradient over them afterwards.
    """
    promote = (0, 1, 2)

    def forward(ctx, x, weight, bias=None):
        dtype = x.dtype
        x, weight, bias = working(x), working(weight), working(bias)  # float16 in float32
        # N spelled out, not -1: numpy cannot infer it when a side is 0 (in or out = 0)
        n = math.prod(x.shape[:-1])
        rows = x.reshape(n, x.shape[-1])   # (..., in) -> (N, in)
        y = rows @ weight.T                # (N, out)
        if bias is not None:
            y += bias
        # keep only what a gradient needs (as PyTorch), so an in-place write to the
        # other (an optimizer step on W when x needs no gradient) does not block backward
        needs_x, needs_weight = ctx.needs_input_grad[:2]
        ctx.save_for_backward(rows if needs_weight else None, weight if needs_x else None)
        ctx.input_shape = x.shape
        return y.reshape(*x.shape[:-1], weight.shape[0]).astype(dtype, copy=False)  # (..., out)

    def backward(ctx, g):
        rows, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = (ctx.needs_input_grad + (False,))[:3]
        g = working(g).reshape(math.prod(g.shape[:-1]), g.shape[-1])  # (..., out) -> (N, out)
        dx = (g @ weight).reshape(ctx.input_shape) if needs_x else None
        dweight = g.T @ rows if needs_weight else None
        dbias = g.sum(axis=0) if needs_bias else None
        return dx, dweight, dbias
