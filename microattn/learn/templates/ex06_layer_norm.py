# %% [markdown]
# # Exercise 6: layer norm and its backward
#
# Layer norm rescales each row of features to mean 0 and variance 1, then
# applies a learned scale and shift. The mean and the variance depend on
# every x in the row, so the backward has two mean terms besides the direct
# one. Derivation: docs/derivatives.md, "Layer norm".
#
# Check: `microattn learn check 6`; hints: `microattn learn hint 6`.

# %%
import numpy as np


def layer_norm(x, weight, bias, eps=1e-5):
    """y = x_hat * weight + bias over the last dim (N features), x (..., N), weight and bias (N,):

        mu = mean(x),  var = mean((x - mu)^2)   (biased: divide by N)
        x_hat = (x - mu) / sigma,   sigma = sqrt(var + eps)
    """
    # solution:begin
    centred = x - x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    return centred / sigma * weight + bias
    # solution:end


def layer_norm_backward(x, weight, g, eps=1e-5):
    """(dx, dweight, dbias) for y = layer_norm(x, weight, bias, eps), g = dL/dy.

    With g_hat = g * weight (the gradient reaching x_hat), in each row:

        dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sigma

    (the means over the last dim: mu and sigma depend on every x_j). And
        dweight = g * x_hat,  dbias = g,  each summed over the leading dims to (N,).
    """
    # solution:begin
    centred = x - x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    x_hat = centred / sigma
    g_hat = g * weight
    dx = (g_hat - g_hat.mean(axis=-1, keepdims=True)
          - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)) / sigma
    leading = tuple(range(g.ndim - 1))
    return dx, (g * x_hat).sum(axis=leading), g.sum(axis=leading)
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(6)
