# %% [markdown]
# # Exercise 5: cross-entropy over logits, with `ignore_index`
#
# The loss of a classifier, and of the transformer you will train: the mean
# over rows of -log p[target], p the softmax of the row's logits. Padding
# positions have no target: their rows carry `ignore_index` and count for
# nothing, in the loss or in the mean. Its gradient is famously simple.
# Derivation: docs/derivatives.md, "Cross-entropy".
#
# Check: `microattn learn check 5`; hints: `microattn learn hint 5`.

# %%
import numpy as np


def cross_entropy(logits, target, ignore_index=-100):
    """Mean cross-entropy of logits (N, C) against integer targets (N,):

        loss = (1/n) sum over counted rows r of  -log softmax(z_r)[t_r]

    A row counts unless its target equals ignore_index; n is the number of
    counted rows (at least one). Compute log softmax stably, with m the row max:
        log softmax(z)_c = (z_c - m) - log sum_j exp(z_j - m)
    Returns a 0-d array (or a number) in logits' dtype.
    """
    # solution:begin
    counted = target != ignore_index
    rows = np.arange(len(target))
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = log_p[rows, np.where(counted, target, 0)]  # any class will do on ignored rows
    return -(picked * counted).sum() / int(counted.sum())
    # solution:end


def cross_entropy_backward(logits, target, ignore_index=-100):
    """dL/dlogits (N, C) for L = cross_entropy(logits, target, ignore_index):

        dL/dz_r = (softmax(z_r) - onehot(t_r)) / n    on counted rows,
        dL/dz_r = 0                                   on ignored rows.
    """
    # solution:begin
    counted = target != ignore_index
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    grad = e / e.sum(axis=-1, keepdims=True)
    grad[np.arange(len(target)), np.where(counted, target, 0)] -= 1
    return grad * counted[:, None] / int(counted.sum())
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(5)
