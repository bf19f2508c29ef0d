"""Exercise 3: the backward of a batched matmul, checked against the library's Matmul."""
import numpy as np

from .. import references
from ..comparison import compare, run, unpack
from ..mistakes import (NOT_SUMMED_OVER_BROADCAST, OPERAND_NOT_TRANSPOSED, OPERANDS_SWAPPED,
                        SIGN_FLIPPED)

TITLE = "batched matmul backward"
TEACHES = "dL/da = g b^T and dL/db = a^T g, per batch element, and the sum over a shared weight"
HINTS = (
    "da has a's shape (..., n, k) and db has b's shape; g is (..., n, m). Only one way to "
    "multiply g with b (or a) gives each shape.",
    "z_ij = sum_k a_ik b_kj, so dL/da_ik = sum_j g_ij b_kj = (g b^T)_ik and "
    "dL/db_kj = sum_i a_ik g_ij = (a^T g)_kj; a 2-D b shared by a batch sums over the batch.",
    "da = g @ np.swapaxes(b, -1, -2)",
)

# (a's shape, b's shape), square first: there a transposition mistake still fits the shapes.
CASES = [((3, 3), (3, 3)), ((2, 4, 4), (4, 4)), ((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
         ((2, 3, 4), (4, 5)), ((2, 2, 3, 4), (2, 2, 4, 2))]


def _swap(x):
    return np.swapaxes(x, -1, -2)


def check(module, rng):
    """Plain, batched and shared-weight products, float64 and float32."""
    for a_shape, b_shape in CASES:
        for dtype in (np.float64, np.float32):
            a = rng.standard_normal(a_shape).astype(dtype)
            b = rng.standard_normal(b_shape).astype(dtype)
            batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
            g = rng.standard_normal(batch + (a_shape[-2], b_shape[-1])).astype(dtype)
            what, result = run("matmul_backward", module.matmul_backward, a=a, b=b, g=g)
            da, db = unpack(what, result, ("da", "db"))
            expected_da, expected_db = references.matmul_backward(a, b, g)
            compare(f"{what}: da", da, expected_da, {
                SIGN_FLIPPED: -expected_da, OPERAND_NOT_TRANSPOSED: lambda: g @ b,
                OPERANDS_SWAPPED: lambda: _swap(b) @ g}, dtype)
            compare(f"{what}: db", db, expected_db, {
                SIGN_FLIPPED: -expected_db, NOT_SUMMED_OVER_BROADCAST: lambda: _swap(a) @ g,
                OPERAND_NOT_TRANSPOSED: lambda: a @ g, OPERANDS_SWAPPED: lambda: g @ _swap(a)},
                dtype)
    return 2 * len(CASES)

