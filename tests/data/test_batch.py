"""Batches: padding, masks, and which lm positions the loss scores."""
import pytest

from microattn.data import IGNORE, load_task


@pytest.fixture(scope="module")
def tasks():
    return {name: load_task(name) for name in ("copy", "add")}


def test_seq2seq_batch_pads_and_masks(tasks):
    task = tasks["copy"]
    examples = [(list("123"), list("123")), (list("45678"), list("45678"))]
    batch = task.batch(examples)
    tok = task.tokenizer
    assert batch.src.shape == (2, 6) and batch.tgt_in.shape == batch.tgt_out.shape == (2, 6)
    assert batch.src[0].tolist() == tok.encode(list("123")) + [tok.eos_id, 0, 0]
    assert batch.tgt_in[0, 0] == tok.bos_id and batch.tgt_out[0, 3] == tok.eos_id
    assert batch.src_padding_mask.tolist() == [[False] * 4 + [True] * 2, [False] * 6]
    # tgt_in is "<bos> 1 2 3 <eos> <pad>": its <eos> is read but predicts padding, ignored
    assert batch.tgt_padding_mask[0].tolist() == [False] * 5 + [True]
    assert batch.tgt_out[0, 4:].tolist() == [0, 0]


def test_lm_batch_scores_the_answer_only(tasks):
    task = tasks["add"]
    batch = task.batch([(list("12+3="), list("15")), (list("1+1="), list("2"))])
    tok = task.tokenizer
    assert batch.idx[0].tolist() == [tok.bos_id] + tok.encode(list("12+3=15"))
    scored = batch.targets[0][batch.targets[0] != IGNORE].tolist()
    assert scored == tok.encode(list("15")) + [tok.eos_id]
    assert batch.targets[1][batch.targets[1] != IGNORE].tolist() == tok.encode(["2"]) + [tok.eos_id]
