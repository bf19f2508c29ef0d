"""The tokenizer: the three special tokens first, unknown tokens refused."""
import pytest

from microattn.data import Tokenizer


def test_tokenizer_specials_and_unknown_tokens():
    tok = Tokenizer(["a", "b", "<pad>"])
    assert tok.tokens == ["<pad>", "<bos>", "<eos>", "a", "b"]
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (0, 1, 2)
    assert tok.decode([1, 3, 4, 2, 3]) == ["a", "b"]
    with pytest.raises(ValueError, match="'zz'"):
        tok.encode(["a", "zz"])
