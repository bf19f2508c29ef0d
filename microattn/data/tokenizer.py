"""Tokens as strings <-> ids, with the three special tokens every task gets."""
import numpy as np

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)


class Tokenizer:
    """A fixed vocabulary: ``<pad>`` is id 0, ``<bos>`` 1, ``<eos>`` 2, then the
    task's tokens in the order given. Unknown tokens are an error, never mapped
    to a catch-all id: a word outside the vocabulary is a mistake to report."""

    def __init__(self, tokens):
        tokens = [t for t in tokens if t not in SPECIALS]
        self.tokens = list(SPECIALS) + list(dict.fromkeys(tokens))
        self.ids = {token: i for i, token in enumerate(self.tokens)}
        self.pad_id, self.bos_id, self.eos_id = (self.ids[t] for t in SPECIALS)

    def __len__(self):
        return len(self.tokens)

    def encode(self, tokens):
        """A list of str tokens -> list of ids; ValueError naming any unknown token."""
        unknown = [t for t in tokens if t not in self.ids]
        if unknown:
            shown = ", ".join(repr(t) for t in dict.fromkeys(unknown))
            raise ValueError(f"not in the task's vocabulary: {shown}")
        return [self.ids[t] for t in tokens]

    def decode(self, ids, strip=True):
        """Ids -> str tokens; with ``strip``, stop at the first ``<eos>`` and drop ``<bos>``/``<pad>``."""
        out = []
        for i in np.asarray(ids).ravel().tolist():
            token = self.tokens[i]
            if strip and token == EOS:
                break
            if strip and token in (PAD, BOS):
                continue
            out.append(token)
        return out

    def label(self, token_id):
        """How a position is labelled in attention pictures (special tokens as ``<bos>``...)."""
        return self.tokens[token_id]
