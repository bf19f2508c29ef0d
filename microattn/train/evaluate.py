"""Held-out evaluation: loss, exact match, token accuracy and attention alignment."""
import numpy as np

from .. import functional as F
from ..core import Tensor, no_grad
from ..data import exact_match, token_accuracy
from ..models import attention_modules

EVAL_BATCH = 250


def _weights(module):
    weights = module.last_attn_weights
    return np.asarray(weights._data if isinstance(weights, Tensor) else weights)


def _padded_masks(masks, shape):
    """Per-example masks (Tq_i, Tk_i) -> one bool array (B, Tq, Tk), False in the padding."""
    out = np.zeros(shape, dtype=bool)
    for i, mask in enumerate(masks):
        out[i, :mask.shape[0], :mask.shape[1]] = mask
    return out


class AlignmentMeter:
    """Attention mass each (layer, head) of the expected kind puts on the expected
    positions, averaged over every query row that has expected positions."""

    def __init__(self, task, model):
        self.task, self.model = task, model
        self.mass, self.rows, self.names, self.kind = None, 0, None, None

    def add(self, examples):
        expected = [self.task.expected_mask(e) for e in examples]
        if any(e is None for e in expected):
            return
        kind = expected[0][0]
        modules = attention_modules(self.model, kind)
        if not modules or any(m.module.last_attn_weights is None for m in modules):
            return  # no attention, or the tiled attention ran and kept no weights
        self.kind, self.names = kind, [m.name for m in modules]
        weights = np.stack([_weights(m.module) for m in modules])     # (L, B, H, Tq, Tk)
        mask = _padded_masks([m for _, m in expected], weights.shape[1:2] + weights.shape[3:])
        # Mass on the expected keys, summed over batch and query rows: (L, H).
        mass = np.einsum("lbhqk,bqk->lh", weights, mask.astype(weights.dtype))
        self.mass = mass if self.mass is None else self.mass + mass
        self.rows += int(mask.any(-1).sum())

    def result(self):
        """(alignment, [module name, head]) of the best head, or (None, None)."""
        if self.mass is None or self.rows == 0:
            return None, None
        per_head = self.mass / self.rows
        layer, head = np.unravel_index(per_head.argmax(), per_head.shape)
        return float(per_head[layer, head]), [self.names[layer], int(head)]


@no_grad()
def evaluate(task, model, examples=None, predictions=True):
    """Score ``examples`` (default: the held-out set). Returns a dict with ``loss``
    (mean cross-entropy per scored token, teacher forced), ``exact`` and
    ``token_acc`` (of greedy answers; for tasks without whole answers, ``exact``
    is None and ``token_acc`` is teacher-forced next-token accuracy),
    ``alignment`` and ``alignment_head``, and ``predictions``.
    The model is put in eval() and back in its previous mode."""
    examples = task.held_out if examples is None else examples
    was_training = model.training
    model.eval()
    try:
        total_loss = right = scored = 0.0
        meter = AlignmentMeter(task, model)
        for start in range(0, len(examples), EVAL_BATCH):
            chunk = examples[start:start + EVAL_BATCH]
            batch = task.batch(chunk)
            logits = task.logits(model, batch)
            meter.add(chunk)
            targets, ignore = task.targets(batch)
            keep = targets != ignore
            vocab = logits.shape[-1]
            total_loss += F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1),
                                          ignore_index=ignore, reduction="sum").item()
            right += int((np.asarray(logits._data).argmax(-1) == targets)[keep].sum())
            scored += int(keep.sum())
        alignment, where = meter.result()
        result = dict(loss=total_loss / scored, exact=None, token_acc=right / scored,
                      alignment=alignment, alignment_head=where, predictions=None)
        if predictions and not task.open_ended:
            answers = []
            for start in range(0, len(examples), EVAL_BATCH):
                answers += task.predict(model, [s for s, _ in examples[start:start + EVAL_BATCH]])
            targets = [t for _, t in examples]
            result.update(exact=exact_match(answers, targets),
                          token_acc=token_accuracy(answers, targets), predictions=answers)
        return result
    finally:
        model.train(was_training)
