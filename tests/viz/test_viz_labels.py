"""Labels as the pictures show them: decoder and cross-attention rows named by the
token they write (the token they read beside it), and blanks made visible."""
from microattn.data import load_task
from microattn.viz.attention import readable, row_labels


def test_seq2seq_rows_name_the_token_they_write():
    task = load_task("reverse")
    example = (["7", "1", "5"], ["5", "1", "7"])
    labels = row_labels(task.attention_view(example), example)
    assert labels["encoder"] == (["7", "1", "5", "<eos>"], ["7", "1", "5", "<eos>"])
    writes = ["5 \u2190 <bos>", "1 \u2190 5", "7 \u2190 1", "<eos> \u2190 7"]
    assert labels["decoder"] == (writes, ["<bos>", "5", "1", "7"])
    assert labels["cross"] == (writes, ["7", "1", "5", "<eos>"])


def test_language_model_rows_predict_the_next_token():
    task = load_task("recall")
    source, target = task.held_out[0]
    query, key = row_labels(task.attention_view((source, target)), (source, target))["decoder"]
    sequence = ["<bos>", *source, *target]
    assert key == [readable(t) for t in sequence][:len(key)]
    assert query[0] == f"{readable(sequence[1])} \u2190 <bos>"
    assert query[-1].startswith("<eos> \u2190 ") or task.open_ended


def test_blanks_are_visible():
    assert [readable(t) for t in (" ", "\n", "\t", "", "a b")] == [
        "\u2423", "\u21b5", "\u21e5", "\u2205", "a\u2423b"]
