"""The catalogue of wrong solutions: each is a real edit of a solved exercise file, and
`learn check` must catch it with the expected diagnosis, whose link leads to a heading
that exists in the docs."""
import re

import pytest
from markdown.extensions.toc import slugify

from microattn.learn import check_exercise, mistakes as m
from microattn.learn.mistakes import Mistake

from learn.workspaces import ROOT, edit, microattn

# (exercise, text in the solved file, its wrong replacement, the diagnosis expected)
WRONG = [
    (1, "self.grad += out.grad\n            other.grad += out.grad",
     "self.grad = out.grad\n            other.grad = out.grad", m.OVERWRITTEN),
    (1, "self.grad += (1 - t * t) * out.grad", "self.grad += (1 - self.data ** 2) * out.grad",
     m.TANH_OF_INPUT),
    (1, "for node in reversed(order):", "for node in order:", m.TOPOLOGICAL_ORDER),
    (1, "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
     "self.grad -= other.data * out.grad\n            other.grad -= self.data * out.grad",
     m.SIGN_FLIPPED),
    (2, "return np.asarray(grad.sum(axis=ones, keepdims=True))", "return np.asarray(grad)",
     m.NOT_SUMMED_OVER_BROADCAST),
    (2, "grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))\n"
        "    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)\n"
        "    return np.asarray(grad.sum(axis=ones, keepdims=True))",
     "grad = grad.mean(axis=tuple(range(grad.ndim - len(shape))))\n"
     "    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)\n"
     "    return np.asarray(grad.mean(axis=ones, keepdims=True))", m.MEAN_NOT_SUM),
    (3, "da = g @ np.swapaxes(b, -1, -2)", "da = g @ b", m.OPERAND_NOT_TRANSPOSED),
    (3, "db = db.sum(axis=tuple(range(db.ndim - b.ndim)))", "pass",
     m.NOT_SUMMED_OVER_BROADCAST),
    (4, "return y * (g - (g * y).sum(axis=-1, keepdims=True))", "return y * g",
     m.SOFTMAX_NO_ROW_TERM),
    (4, "return y * (g - (g * y).sum(axis=-1, keepdims=True))",
     "return y * ((g * y).sum(axis=-1, keepdims=True) - g)", m.SIGN_FLIPPED),
    (4, "e = np.exp(x - x.max(axis=-1, keepdims=True))", "e = np.exp(x)", m.SOFTMAX_NO_MAX),
    (4, "return e / e.sum(axis=-1, keepdims=True)", "return e / e.sum()",
     m.SOFTMAX_WRONG_AXIS),
    (5, "return -(picked * counted).sum() / int(counted.sum())",
     "return -(picked * counted).sum() / len(target)", m.CE_MEAN_OVER_ALL),
    (5, "return grad * counted[:, None] / int(counted.sum())",
     "return grad / int(counted.sum())", m.CE_IGNORED_NOT_ZERO),
    (6, "dx = (g_hat - g_hat.mean(axis=-1, keepdims=True)\n"
        "          - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)) / sigma",
     "dx = g_hat / sigma", m.LN_NO_MEAN_TERMS),
    (6, "sigma = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)",
     "sigma = np.sqrt(x.var(axis=-1, ddof=1, keepdims=True) + eps)", m.LN_UNBIASED),
    (7, "np.add.at(dweight, indices.reshape(-1), g.reshape(-1, g.shape[-1]))",
     "dweight[indices.reshape(-1)] += g.reshape(-1, g.shape[-1])", m.EMBEDDING_OVERWRITTEN),
    (7, "        dweight[padding_idx] = 0", "        pass", m.EMBEDDING_PADDING_LEARNS),
    (8, "return ds @ k * scale, np.swapaxes(ds, -1, -2) @ q * scale, dv",
     "return ds @ k, np.swapaxes(ds, -1, -2) @ q, dv", m.ATTENTION_NO_SCALE_BACKWARD),
    (8, "    if mask is not None:\n        scores = np.where(mask, scores, -np.inf)\n"
        "    p = softmax(scores)",
     "    p = softmax(scores)\n    if mask is not None:\n        p = p * mask",
     m.ATTENTION_MASK_AFTER_SOFTMAX),
    (8, "ds = softmax_backward(p, g @ np.swapaxes(v, -1, -2))",
     "ds = p * (g @ np.swapaxes(v, -1, -2))", m.ATTENTION_NO_ROW_TERM),
    (9, "x = x.reshape(batch, length, num_heads, width // num_heads)  # (B, T, heads, d)\n"
        "    return x.transpose(1, 2)",
     "return x.reshape(batch, num_heads, length, width // num_heads)",
     m.HEADS_NOT_TRANSPOSED),
    (9, "normed = layer.norm1(x)\n"
        "    x = x + multi_head_attention(layer.self_attn, normed, normed, normed, mask)\n"
        "    return x + layer.linear2(F.relu(layer.linear1(layer.norm2(x))))",
     "x = layer.norm1(x + multi_head_attention(layer.self_attn, x, x, x, mask))\n"
     "    return layer.norm2(x + layer.linear2(F.relu(layer.linear1(x))))", m.POST_NORM),
    (3, "db = np.swapaxes(a, -1, -2) @ g", "db = g @ np.swapaxes(a, -1, -2)", m.OPERANDS_SWAPPED),
    (4, "return y * (g - (g * y).sum(axis=-1, keepdims=True))",
     "return g - (g * y).sum(axis=-1, keepdims=True)", m.SOFTMAX_NO_Y_FACTOR),
    (4, "return y * (g - (g * y).sum(axis=-1, keepdims=True))",
     "return y * (g - g.sum(axis=-1, keepdims=True))", m.SOFTMAX_ROW_TERM_WITHOUT_Y),
    (5, "return -(picked * counted).sum() / int(counted.sum())",
     "return -(picked * counted).sum()", m.CE_NOT_AVERAGED),
    (5, "grad = e / e.sum(axis=-1, keepdims=True)", "grad = logits.copy()", m.CE_NO_SOFTMAX),
    (6, "dx = (g_hat - g_hat.mean(axis=-1, keepdims=True)\n"
        "          - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)) / sigma",
     "dx = (g_hat - g_hat.mean(axis=-1, keepdims=True)) / sigma", m.LN_NO_XHAT_TERM),
    (6, "    g_hat = g * weight\n", "    g_hat = g\n", m.LN_NO_WEIGHT),
    (8, "scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])",
     "scores = q @ np.swapaxes(k, -1, -2)", m.ATTENTION_NO_SCALE),
    (8, "dv = np.swapaxes(p, -1, -2) @ g", "dv = p @ g", m.ATTENTION_DV_NOT_TRANSPOSED),
    (8, "np.swapaxes(ds, -1, -2) @ q * scale", "ds @ q * scale", m.ATTENTION_DK_NOT_TRANSPOSED),
    (9, "x = x.transpose(1, 2)                              # (B, T, heads, d)\n"
        "    return x.reshape(batch, length, heads * width)",
     "return x.reshape(batch, length, heads * width)", m.MERGE_NOT_TRANSPOSED),
    (9, "return mha.out_proj(merge_heads(heads))", "return merge_heads(heads)", m.NO_OUT_PROJ),
    (9, "return x + layer.linear2(F.relu(layer.linear1(layer.norm2(x))))",
     "return layer.linear2(F.relu(layer.linear1(layer.norm2(x))))", m.NO_RESIDUAL),
]


@pytest.mark.parametrize("number, old, new, mistake", WRONG,
                         ids=[f"{n}-{w[3].name[:40]}" for n, w in
                              zip(range(len(WRONG)), WRONG)])
def test_each_wrong_solution_is_diagnosed(solved, number, old, new, mistake):
    edit(solved, number, old, new)
    result = check_exercise(solved, number)
    assert result.status == "failed"
    assert result.failure.mistake == mistake, (
        f"expected '{mistake.name}', got "
        f"{result.failure.mistake and result.failure.mistake.name}: {result.failure}")


def test_the_catalogue_of_wrong_solutions_covers_every_mistake():
    named = {value for value in vars(m).values() if isinstance(value, Mistake)}
    assert named == {mistake for *_, mistake in WRONG}


def _anchors(page):
    text = re.sub(r"```.*?```", "", (ROOT / page).read_text(), flags=re.S)
    return {slugify(h.replace("`", ""), "-") for h in re.findall(r"^#+ (.*)$", text, re.M)}


def test_every_diagnosis_links_to_a_heading_that_exists():
    for mistake in (v for v in vars(m).values() if isinstance(v, Mistake)):
        assert (ROOT / mistake.page).exists(), mistake.page
        assert mistake.anchor in _anchors(mistake.page), mistake.link


def test_the_command_prints_the_diagnosis_and_its_link(solved):
    edit(solved, 4, "return y * (g - (g * y).sum(axis=-1, keepdims=True))", "return y * g")
    done = microattn("learn", "check", "4", "--dir", solved.dir)
    assert done.returncode == 1, done.stderr
    assert "FAILED" in done.stdout and "first at [" in done.stdout
    assert "diagnosis: softmax backward without the row term" in done.stdout
    assert "docs/derivatives.md#softmax" in done.stdout
