# %% [markdown]
# # Exercise 3: the backward of a batched matmul
#
# z = a @ b with z_ij = sum_k a_ik b_kj. Each a_ik meets every b_kj, so its
# gradient collects g_ij b_kj over j: a matmul with b transposed. Batched,
# the last two axes are the matrices and the leading ones a batch; a weight
# b (k, m) shared by a batch of activations a (B, T, k) was used once per
# batch element, so its gradient is the sum over the batch
# (docs/derivatives.md, "Matrix multiplication").
#
# Check: `microattn learn check 3`; hints: `microattn learn hint 3`.

# %%
import numpy as np


def matmul_backward(a, b, g):
    """(dL/da, dL/db) for z = a @ b, given g = dL/dz.

    a (..., n, k); b (..., k, m), or b (k, m) shared by the whole batch; g (..., n, m).
        dL/da = g @ b^T       (..., n, m) @ (..., m, k) -> (..., n, k)
        dL/db = a^T @ g       (..., k, n) @ (..., n, m) -> (..., k, m)
    ^T swaps the last two axes only: np.swapaxes(x, -1, -2). When b is shared
    (2-D) and a batched, dL/db is summed over the batch dims, to b's shape.
    Returns (da, db), shaped like a and b.
    """
    # solution:begin
    da = g @ np.swapaxes(b, -1, -2)
    db = np.swapaxes(a, -1, -2) @ g
    if db.ndim > b.ndim:  # b served every batch element: add their gradients
        db = db.sum(axis=tuple(range(db.ndim - b.ndim)))
    return da, db
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(3)
