"""The catalogue of common mistakes that ``microattn learn check`` recognises.

A check that finds a wrong result recomputes the case with each known wrong
variant of the answer (the row term left out, a sign flipped, ...); when the
learner's result equals one of them, the mistake is named, with the section
of the docs that derives the right formula.
"""
from dataclasses import dataclass

DERIVATIVES = "docs/derivatives.md"
AUTOGRAD = "docs/autograd.md"
ATTENTION = "docs/attention.md"
TRANSFORMER = "docs/transformer.md"


@dataclass(frozen=True)
class Mistake:
    """One known wrong answer: what it is, how to fix it, where it is derived."""
    name: str
    fix: str
    page: str
    anchor: str

    @property
    def link(self):
        return f"{self.page}#{self.anchor}"


SIGN_FLIPPED = Mistake(
    "the sign is flipped", "the gradient points the other way: check every minus sign "
    "(dL/dx is what a small increase of x does to L)", AUTOGRAD,
    "5-the-chain-rule-as-vectorjacobian-products")
OVERWRITTEN = Mistake(
    "a gradient is overwritten instead of accumulated",
    "a Value used twice must receive the sum of both uses: write grad += ..., not grad = ...",
    AUTOGRAD, "7-gradients-accumulate-and-broadcasting-is-undone-in-one-place")
TOPOLOGICAL_ORDER = Mistake(
    "backward ran a node before everything that uses it had added its gradient",
    "order the graph topologically (each node after the nodes it was computed from) and "
    "call _backward in the reverse of that order", AUTOGRAD,
    "6-the-walk-topological-order-without-recursion")
TANH_OF_INPUT = Mistake(
    "tanh's derivative taken from its input", "d tanh(a)/da = 1 - t^2 with t = tanh(a), "
    "the output, not 1 - a^2", DERIVATIVES, "elementwise-ops")
NOT_SUMMED_OVER_BROADCAST = Mistake(
    "the gradient is not summed over a broadcast dim",
    "an input broadcast (copied) along a dim was used once per copy: sum the gradient over "
    "that dim (new leading dims, and dims where the input has size 1)", AUTOGRAD,
    "7-gradients-accumulate-and-broadcasting-is-undone-in-one-place")
MEAN_NOT_SUM = Mistake(
    "the gradient is averaged over a broadcast dim instead of summed",
    "every copy passes its whole gradient back: sum, do not take the mean", AUTOGRAD,
    "7-gradients-accumulate-and-broadcasting-is-undone-in-one-place")
OPERAND_NOT_TRANSPOSED = Mistake(
    "a matmul operand is not transposed",
    "dL/da = g @ b^T and dL/db = a^T @ g, ^T swapping the last two axes "
    "(np.swapaxes(x, -1, -2))", DERIVATIVES, "matrix-multiplication")
OPERANDS_SWAPPED = Mistake(
    "the matmul operands are in the wrong order",
    "dL/da = g @ b^T (g on the left) and dL/db = a^T @ g (g on the right); "
    "check the shapes: (n, m) @ (m, k) -> (n, k)", DERIVATIVES, "matrix-multiplication")
SOFTMAX_NO_MAX = Mistake(
    "softmax without subtracting the row max: exp overflowed",
    "compute exp(x - max(x)) / sum(exp(x - max(x))): the same in exact math, finite in floats",
    DERIVATIVES, "subtracting-the-max-nothing-in-the-math-everything-in-floats")
SOFTMAX_WRONG_AXIS = Mistake(
    "the softmax sum is taken over the wrong axis",
    "normalise each row along the last dim: sum(..., axis=-1, keepdims=True)",
    DERIVATIVES, "softmax")
SOFTMAX_NO_ROW_TERM = Mistake(
    "softmax backward without the row term",
    "y_i depends on every x_j through the sum, so dL/dx = y * (g - sum(g * y, -1)); "
    "y * g alone is the diagonal of the Jacobian only", DERIVATIVES, "softmax")
SOFTMAX_NO_Y_FACTOR = Mistake(
    "softmax backward without the factor y",
    "dL/dx = y * (g - sum(g * y, -1)): multiply the bracket by y", DERIVATIVES, "softmax")
SOFTMAX_ROW_TERM_WITHOUT_Y = Mistake(
    "softmax backward's row term sums g instead of g * y",
    "the row term is sum_i g_i y_i (the gradient weighted by y), not sum_i g_i", DERIVATIVES,
    "softmax")
CE_MEAN_OVER_ALL = Mistake(
    "the mean is taken over every row, ignored ones included",
    "divide by n, the number of rows whose target is not ignore_index", DERIVATIVES,
    "cross-entropy")
CE_IGNORED_NOT_ZERO = Mistake(
    "rows whose target is ignore_index get a gradient",
    "ignored rows add nothing to the loss, so their gradient is 0", DERIVATIVES, "cross-entropy")
CE_NOT_AVERAGED = Mistake(
    "the loss is summed, not averaged",
    "the loss is the mean over the counted rows: divide the sum (and the gradient) by n",
    DERIVATIVES, "cross-entropy")
CE_NO_SOFTMAX = Mistake(
    "the gradient uses the logits instead of their softmax",
    "dL/dz = (softmax(z) - onehot(t)) / n: turn logits into probabilities first",
    DERIVATIVES, "cross-entropy")
LN_NO_MEAN_TERMS = Mistake(
    "layer norm backward without the mean terms",
    "mu and sigma depend on every x_j, so dx = (g_hat - mean(g_hat) - x_hat * "
    "mean(g_hat * x_hat)) / sigma, not g_hat / sigma", DERIVATIVES, "layer-norm")
LN_NO_XHAT_TERM = Mistake(
    "layer norm backward without the x_hat * mean(g_hat * x_hat) term",
    "sigma depends on every x_j too: subtract x_hat * mean(g_hat * x_hat)", DERIVATIVES,
    "layer-norm")
LN_NO_WEIGHT = Mistake(
    "layer norm backward forgot the weight",
    "the gradient reaching x_hat is g_hat = g * weight; use it in dx", DERIVATIVES,
    "layer-norm")
LN_UNBIASED = Mistake(
    "layer norm uses the unbiased variance",
    "layer norm divides by N (np.var's default, ddof=0), not N - 1", DERIVATIVES, "layer-norm")
EMBEDDING_OVERWRITTEN = Mistake(
    "the embedding gradient is overwritten instead of accumulated on repeated indices",
    "dweight[indices] += g keeps only one of the repeated rows; np.add.at(dweight, "
    "indices, g) adds them all", DERIVATIVES, "embedding")
EMBEDDING_PADDING_LEARNS = Mistake(
    "the padding row gets a gradient",
    "the row padding_idx never learns: set its gradient to 0", DERIVATIVES, "embedding")
ATTENTION_NO_SCALE_BACKWARD = Mistake(
    "the scale 1/sqrt(d_k) is forgotten in the backward",
    "S = q @ k^T / sqrt(d), so dq = dS @ k / sqrt(d) and dk = dS^T @ q / sqrt(d)",
    DERIVATIVES, "scaled-dot-product-attention")
ATTENTION_NO_SCALE = Mistake(
    "the scores are not scaled by 1/sqrt(d_k)",
    "S = q @ k^T / sqrt(d), d the last dim of q", DERIVATIVES, "scaled-dot-product-attention")
ATTENTION_MASK_AFTER_SOFTMAX = Mistake(
    "the mask is applied after the softmax",
    "set the blocked scores to -inf before the softmax; zeroing weights afterwards leaves "
    "rows that no longer sum to 1", DERIVATIVES, "scaled-dot-product-attention")
ATTENTION_NO_ROW_TERM = Mistake(
    "attention's softmax backward is without the row term",
    "dS = P * (dP - sum(dP * P, -1)): use your softmax_backward from exercise 4", DERIVATIVES,
    "scaled-dot-product-attention")
ATTENTION_DV_NOT_TRANSPOSED = Mistake(
    "dv uses P instead of P^T",
    "out = P @ v, so dv = P^T @ g (np.swapaxes(P, -1, -2) @ g)", DERIVATIVES,
    "scaled-dot-product-attention")
ATTENTION_DK_NOT_TRANSPOSED = Mistake(
    "dk uses dS instead of dS^T",
    "S = q @ k^T, so dk = dS^T @ q / sqrt(d)", DERIVATIVES, "scaled-dot-product-attention")
HEADS_NOT_TRANSPOSED = Mistake(
    "the heads are split by a reshape alone",
    "reshape (B, T, E) to (B, T, heads, d), then transpose(1, 2) to (B, heads, T, d): a "
    "direct reshape to (B, heads, T, d) mixes positions", ATTENTION, "4-multi-head-attention")
MERGE_NOT_TRANSPOSED = Mistake(
    "the heads are merged by a reshape alone",
    "transpose(1, 2) back to (B, T, heads, d) before the reshape to (B, T, E)", ATTENTION,
    "4-multi-head-attention")
NO_OUT_PROJ = Mistake(
    "the output projection is missing", "the merged heads go through mha.out_proj",
    ATTENTION, "4-multi-head-attention")
POST_NORM = Mistake(
    "the block normalises after the residual sum (post-norm)",
    "pre-norm: x = x + attention(norm1(x)), then x = x + ff(norm2(x))", TRANSFORMER,
    "encoder-and-decoder-layers")
NO_RESIDUAL = Mistake(
    "a residual connection is missing",
    "each sub-block adds to its input: x = x + sub_block(norm(x))", TRANSFORMER,
    "encoder-and-decoder-layers")
