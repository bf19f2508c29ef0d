"""Exercise 7: embedding and its backward, checked against the library's Embedding."""
import numpy as np

from .. import references
from ..comparison import compare, gradcheck, run
from ..learner_ops import functions_of
from ..mistakes import EMBEDDING_OVERWRITTEN, EMBEDDING_PADDING_LEARNS, SIGN_FLIPPED

TITLE = "embedding backward (repeated indices)"
TEACHES = "a lookup's backward is a scatter that adds, and a row that never learns"
HINTS = (
    "dweight has the table's shape (num_embeddings, D), zero in every row no index picked.",
    "Every position p adds g[p] to row indices[p]; dweight[indices] += g keeps only one of "
    "the additions to a repeated row (numpy buffers it), np.add.at adds them all.",
    "dweight = np.zeros((num_embeddings, g.shape[-1]), dtype=g.dtype)",
)

# (indices' shape, rows in the table, padding_idx): repeats are certain with more positions than rows.
CASES = [((6,), 4, None), ((3, 5), 6, None), ((2, 4), 5, 0), ((4, 3), 3, 2), ((1,), 2, None)]
WIDTH = 3


def _overwritten(indices, g, rows, padding_idx):
    dweight = np.zeros((rows, WIDTH), dtype=g.dtype)
    dweight[indices.reshape(-1)] = g.reshape(-1, WIDTH)
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight


def check(module, rng):
    """Lookups and gradients with repeated indices and a padding row, then central
    differences of your embedding against your backward."""
    for shape, rows, padding_idx in CASES:
        for dtype in (np.float64, np.float32):
            indices = rng.integers(0, rows, size=shape)
            weight = rng.standard_normal((rows, WIDTH)).astype(dtype)
            g = rng.standard_normal(shape + (WIDTH,)).astype(dtype)
            what, y = run("embedding", module.embedding, indices=indices, weight=weight)
            compare(what, y, references.embedding(indices, weight), dtype=dtype)
            what, dweight = run("embedding_backward", module.embedding_backward,
                                indices=indices, g=g, num_embeddings=rows,
                                padding_idx=padding_idx)
            expected = references.embedding_backward(indices, weight, g, padding_idx)
            unpadded = references.embedding_backward(indices, weight, g, None)
            compare(what, dweight, expected, {
                EMBEDDING_OVERWRITTEN: lambda: [_overwritten(indices, g, rows, padding_idx),
                                                _overwritten(indices, g, rows, None)],
                EMBEDDING_PADDING_LEARNS: unpadded, SIGN_FLIPPED: -expected}, dtype)
    indices = rng.integers(0, 4, size=(2, 5))
    gradcheck("central differences of your embedding, weight (4, 3) float64",
              lambda w: functions_of({7: module}).embedding.apply(indices, w, None),
              [rng.standard_normal((4, WIDTH))])
    return 2 * len(CASES) + 1
