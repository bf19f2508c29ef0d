"""The model's logits for a :class:`~microattn.data.batch.Batch`, and its loss:
the mean cross-entropy over the scored target tokens."""
from microattn import functional as F
from .batch import IGNORE


def logits(model, batch):
    """The model's logits for a batch: (B, T, vocab)."""
    if batch.kind == "seq2seq":
        return model(batch.src, batch.tgt_in, src_key_padding_mask=batch.src_padding_mask,
                     tgt_key_padding_mask=batch.tgt_padding_mask)
    return model(batch.idx)


def targets(batch, pad_id):
    """Target ids (B, T) aligned with :func:`logits`, and the id the loss ignores."""
    if batch.kind == "seq2seq":
        return batch.tgt_out, pad_id
    return batch.targets, IGNORE


def loss(model, batch, pad_id, scores=None):
    """L = -mean over scored positions i of log softmax(logits_i)[target_i], graph attached.
    ``scores``: logits already computed for this batch."""
    scores = logits(model, batch) if scores is None else scores
    wanted, ignore = targets(batch, pad_id)
    vocab = scores.shape[-1]
    return F.cross_entropy(scores.reshape(-1, vocab), wanted.reshape(-1), ignore_index=ignore)
