# %% [markdown]
# # Exercise 7: embedding and its backward (repeated indices)
#
# An embedding looks rows up in a table: token id v becomes row v of the
# weight (V, D). Its backward scatters the gradient back into the table; a
# token that occurs twice in a batch was looked up twice and collects both
# gradients. Derivation: docs/derivatives.md, "Embedding".
#
# Check: `microattn learn check 7`; hints: `microattn learn hint 7`.

# %%
import numpy as np


def embedding(indices, weight):
    """y[p] = weight[indices[p]]: indices of any shape, weight (V, D) -> y indices.shape + (D,)."""
    # solution:begin
    return weight[indices]
    # solution:end


def embedding_backward(indices, g, num_embeddings, padding_idx=None):
    """dL/dweight (num_embeddings, D), given g = dL/dy of shape indices.shape + (D,):

        dweight[v] = sum of g[p] over every position p with indices[p] == v

    (0 for rows never looked up), and dweight[padding_idx] = 0: that row never learns.
    """
    # solution:begin
    dweight = np.zeros((num_embeddings, g.shape[-1]), dtype=g.dtype)
    np.add.at(dweight, indices.reshape(-1), g.reshape(-1, g.shape[-1]))
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(7)
