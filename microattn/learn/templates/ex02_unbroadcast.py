# %% [markdown]
# # Exercise 2: unbroadcasting a gradient
#
# numpy broadcasting repeats an input: `x (3, 1) + y (2, 3, 4)` copies x along
# a new leading dim (2) and along its dim of size 1 (4). Each copy is a use of
# the same number, and a number used n times receives the sum of the n
# gradients. So an op's backward can compute its gradient in the output's
# shape, and one helper sums it back to the input's shape. The library's
# engine does this for every op (docs/autograd.md, section 7).
#
# Check: `microattn learn check 2`; hints: `microattn learn hint 2`.

# %%
import numpy as np


def unbroadcast(grad, shape):
    """The gradient of an input of shape ``shape`` that was broadcast to grad.shape.

        1. sum grad over its first grad.ndim - len(shape) dims (the new leading dims);
        2. sum, keeping the dim, over every dim where shape has 1 and grad does not.

    Example: x (3, 1) broadcast to (2, 3, 4):
        unbroadcast(g, (3, 1)) = g.sum(axis=0).sum(axis=1, keepdims=True)   -> (3, 1)
    Returns an array of shape ``shape`` (a 0-d array for shape ()); never changes grad.
    """
    # solution:begin
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.asarray(grad.sum(axis=ones, keepdims=True))
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(2)
