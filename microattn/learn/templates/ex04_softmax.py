# %% [markdown]
# # Exercise 4: softmax and its backward (the row term)
#
# y = softmax(x) turns a row of scores into weights that are positive and sum
# to 1. Every y_i depends on every x_j (through the sum in the denominator),
# so its backward has two parts: a diagonal one and a row term that every
# entry of the row shares. Attention (exercise 8) uses both functions.
# Derivation: docs/derivatives.md, "Softmax".
#
# Check: `microattn learn check 4`; hints: `microattn learn hint 4`.

# %%
import numpy as np


def softmax(x):
    """y = softmax(x) along the last dim:

        y_i = exp(x_i - m) / sum_j exp(x_j - m),    m = max_j x_j

    Subtracting the row max m changes nothing in exact math (exp(-m) cancels)
    but keeps exp from overflowing. An entry of -inf (a masked score) gets
    y = 0. Same shape and dtype as x.
    """
    # solution:begin
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    # solution:end


def softmax_backward(y, g):
    """dL/dx for y = softmax(x) along the last dim, from the output y and g = dL/dy.

    The Jacobian is dy_i/dx_j = y_i (delta_ij - y_j), so

        dL/dx_j = sum_i g_i y_i (delta_ij - y_j) = y_j (g_j - sum_i g_i y_i)

    that is, dL/dx = y * (g - sum(g * y, -1, keepdims=True)): the sum is the
    row term. Same shape and dtype as y; never changes y or g.
    """
    # solution:begin
    return y * (g - (g * y).sum(axis=-1, keepdims=True))
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(4)
