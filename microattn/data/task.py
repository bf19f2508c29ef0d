"""A task module made usable: :class:`Task` checks what the module declares, draws
its fixed held-out set, samples training examples, and explains its examples
(attention views, expected attention, text <-> tokens).

The task contract (built-in modules and users' files alike; docs/tasks.md)::

    KIND = "seq2seq"            # or "lm": a decoder-only GPT reads source then predicts target
    DESCRIPTION = "one line shown by `microattn tasks`"
    def example(rng):           # rng: numpy Generator -> (source, target), lists of str tokens

and optionally ``VOCAB`` (else discovered from sampled examples), ``MAX_LEN`` (the
longest source or target, else discovered), ``DEFAULTS`` (config values for
``microattn train``), ``expected_attention(source, target)`` (for each target
token, the source position or positions that carry it), ``parse(text)`` and
``format(tokens)`` (text <-> tokens for ``predict``), ``format_answer(tokens)``.
A module that needs options (``charlm``'s ``--text``) defines ``configure(**options)``
returning an object with those names; it may add ``validation_example(rng)``
(held-out examples from a split of their own), ``OPEN_ENDED = True`` (targets are
stretches of a text, not whole answers: no ``<eos>`` is appended and there is no
exact match to score) and ``BASELINE_LOSS`` (a reference held-out loss, in nats
per token). Batches, the loss and predictions are in ``batch.py``, ``loss.py``
and ``prediction.py``; loading a module in ``task_file.py``.
"""
import numpy as np

from . import loss as task_loss
from .batch import lm_batch, seq2seq_batch
from .prediction import predict_lm, predict_seq2seq
from .task_code import TaskError, call, where, wrong_return
from .tokenizer import BOS, EOS, SPECIALS, Tokenizer

KINDS = ("seq2seq", "lm")
HELD_OUT_SIZE = 1000
HELD_OUT_SEED = 20240601      # the held-out set's own seed, never a training seed
DISCOVERY_SEED = 7            # examples drawn to discover VOCAB and MAX_LEN when not given
DISCOVERY_DRAWS = 2000
MAX_REJECTIONS = 1000         # training draws in a row found in the held-out set before giving up
SEED_CHECK_DRAWS = 8          # examples drawn twice from equal seeds: they must agree


def _as_example(pair, function):
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise wrong_return(function, pair, "it should return (source, target)")
    source, target = pair
    for part, name in ((source, "source"), (target, "target")):
        if not isinstance(part, (list, tuple)) or not all(isinstance(t, str) for t in part):
            raise wrong_return(function, pair, f"the {name} should be a list of str tokens")
    return tuple(source), tuple(target)


def _declared(spec, label):
    """KIND, VOCAB, MAX_LEN and DEFAULTS as the module declares them, checked."""
    kind = getattr(spec, "KIND", None)
    if kind not in KINDS:
        raise TaskError(f"{label}: KIND should be 'seq2seq' or 'lm', got {kind!r}")
    if not callable(getattr(spec, "example", None)):
        raise TaskError(f"{label} does not define example(rng)")
    vocab = getattr(spec, "VOCAB", None)
    if vocab is not None:
        if not isinstance(vocab, (list, tuple, str)) or not all(isinstance(t, str) for t in vocab):
            raise TaskError(f"{label}: VOCAB should be a list of str tokens, got {vocab!r:.80}")
        _refuse_specials(vocab, f"{label}: VOCAB")
    max_len = getattr(spec, "MAX_LEN", None)
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int)
                                or max_len < 1):
        raise TaskError(f"{label}: MAX_LEN should be a whole number >= 1, got {max_len!r:.80}")
    defaults = getattr(spec, "DEFAULTS", None)
    if defaults is not None and not isinstance(defaults, dict):
        raise TaskError(f"{label}: DEFAULTS should be a dict of training options, "
                        f"got {type(defaults).__name__}")
    return kind, vocab, max_len, dict(defaults or {})


def _refuse_specials(tokens, where_):
    special = next((t for t in tokens if t in SPECIALS), None)
    if special is not None:
        raise TaskError(f"{where_} has the token {special!r}, one of the library's own "
                        f"special tokens ({', '.join(SPECIALS)}); name it otherwise")


class Task:
    """A task module made usable: tokenizer, held-out set, batches, loss, predictions.
    ``source``: the built-in name or the task file's absolute path (what a run saves);
    ``label``: how messages name it (``task NAME`` or ``task file PATH``)."""

    def __init__(self, spec, name, source=None, label=None):
        self.spec, self.name, self.source = spec, name, source
        self.label = label or f"task {name}"
        self.kind, vocab, max_len, self.defaults = _declared(spec, self.label)
        self.description = str(getattr(spec, "DESCRIPTION", ""))
        self.open_ended = bool(getattr(spec, "OPEN_ENDED", False))
        self.score_source = bool(getattr(spec, "SCORE_SOURCE", False))
        self.baseline_loss = getattr(spec, "BASELINE_LOSS", None)
        self._expected = getattr(spec, "expected_attention", None)

        self._check_seeded()
        self.held_out = self._draw_held_out()
        self._held_out_set = set(self.held_out)
        discovered = self.held_out + self._draw(np.random.default_rng(DISCOVERY_SEED),
                                                DISCOVERY_DRAWS)
        if vocab is None:
            vocab = sorted({t for s, tg in discovered for t in s + tg})
        self.tokenizer = Tokenizer(vocab)
        for example in discovered:
            self.check_tokens(example)
        self.max_len = max_len or max(max(len(s), len(t)) for s, t in discovered)
        for example in discovered:
            self.check_length(example)
        self.held_out = [(list(s), list(t)) for s, t in self.held_out]

    # -- drawing examples ----------------------------------------------------
    def _draw(self, rng, n, function=None):
        function = function or self.spec.example
        return [_as_example(call(function, rng), function) for _ in range(n)]

    def _check_seeded(self):
        """Two generators of one seed must give the same examples: a task drawing from
        ``random`` or numpy's global state would give every process another held-out
        set, and ``eval`` would score on examples the run trained on."""
        for function in (self.spec.example, getattr(self.spec, "validation_example", None)):
            if function is None:
                continue
            first, second = (self._draw(np.random.default_rng(HELD_OUT_SEED), SEED_CHECK_DRAWS,
                                        function) for _ in range(2))
            if first != second:
                raise TaskError(f"{where(function)} gave other examples for the same rng "
                                f"seed: draw every random choice from its rng argument "
                                f"(not random or np.random)")

    def _draw_held_out(self):
        """1,000 distinct examples from the held-out seed (from ``validation_example``
        if the task has its own validation split)."""
        rng = np.random.default_rng(HELD_OUT_SEED)
        function = getattr(self.spec, "validation_example", None)
        chosen = {}
        for _ in range(20):
            for example in self._draw(rng, HELD_OUT_SIZE, function):
                chosen.setdefault(example, None)
            if len(chosen) >= HELD_OUT_SIZE:
                break
        if len(chosen) < HELD_OUT_SIZE:
            raise TaskError(f"{self.label}: only {len(chosen)} distinct examples in "
                            f"{20 * HELD_OUT_SIZE} draws; a task needs more than "
                            f"{HELD_OUT_SIZE} for its held-out set and more to train on")
        return list(chosen)[:HELD_OUT_SIZE]

    def sample(self, rng, n):
        """``n`` training examples drawn with ``rng``, never one of the held-out set."""
        out, rejected = [], 0
        while len(out) < n:
            example = self._draw(rng, 1)[0]
            if example in self._held_out_set:
                rejected += 1
                if rejected >= MAX_REJECTIONS:
                    raise TaskError(f"{self.label}: {MAX_REJECTIONS} training draws in a "
                                    f"row were held-out examples; the task has too few "
                                    f"distinct examples")
                continue
            rejected = 0
            self.check_tokens(example)
            self.check_length(example)
            out.append((list(example[0]), list(example[1])))
        return out

    def check_tokens(self, example):
        tokens = list(example[0]) + list(example[1])
        _refuse_specials(tokens, f"{self.label}: an example")
        try:
            self.tokenizer.encode(tokens)
        except ValueError as error:
            raise TaskError(f"{self.label}: an example has tokens {error} "
                            f"(define VOCAB to list every token)") from None

    def check_length(self, example):
        longest = max(len(example[0]), len(example[1]))
        if longest > self.max_len:
            raise TaskError(f"{self.label}: an example of length {longest} is longer "
                            f"than MAX_LEN={self.max_len}")

    # -- the model's view (batch.py, loss.py, prediction.py) -----------------
    @property
    def model_max_len(self):
        """Positions the model needs: seq2seq ``<bos> target <eos>`` (and ``source <eos>``);
        lm ``<bos> source target <eos>``; open-ended lm ``<bos> target`` less the last token,
        so that generating longer texts slides over trained positions only."""
        if self.kind == "seq2seq":
            return self.max_len + 2
        return self.max_len if self.open_ended else 2 * self.max_len + 2

    def batch(self, examples):
        """(source, target) pairs -> a padded :class:`~microattn.data.batch.Batch`."""
        if self.kind == "seq2seq":
            return seq2seq_batch(self.tokenizer, examples)
        return lm_batch(self.tokenizer, examples, self.open_ended, self.score_source)

    def logits(self, model, batch):
        """The model's logits for a batch: (B, T, vocab)."""
        return task_loss.logits(model, batch)

    def targets(self, batch):
        """Target ids (B, T) aligned with :meth:`logits`, and the id the loss ignores."""
        return task_loss.targets(batch, self.tokenizer.pad_id)

    def loss(self, model, batch, logits=None):
        """Mean cross-entropy over the scored target tokens (graph attached)."""
        return task_loss.loss(model, batch, self.tokenizer.pad_id, logits)

    def predict(self, model, sources):
        """Greedy answers (lists of str tokens) for source token lists; the model in eval()."""
        predict = predict_seq2seq if self.kind == "seq2seq" else predict_lm
        return predict(model, self.tokenizer, sources, self.max_len)

    # -- attention -----------------------------------------------------------
    def attention_view(self, example):
        """kind -> (query labels, key labels) in the model's coordinates for this example."""
        source, target = list(example[0]), list(example[1])
        if self.kind == "seq2seq":
            src, dec = source + [EOS], [BOS] + target
            return {"encoder": (src, src), "decoder": (dec, dec), "cross": (dec, src)}
        seq = [BOS] + source + target
        if self.open_ended:
            seq = seq[:-1]    # the last token is only ever predicted, never read
        return {"decoder": (seq, seq)}

    def expected_positions(self, example):
        """The task's ``expected_attention``: for each target token, a list of source
        positions. Positions outside the source are dropped: a wrong answer (a model's
        prediction longer than the right one) has no expected attention there."""
        if self._expected is None:
            return None
        source, target = list(example[0]), list(example[1])
        positions = call(self._expected, source, target)
        if positions is None:
            return None
        wanted = f"it should give, for each of the {len(target)} target tokens, a source " \
                 f"position or a list of them"
        if not isinstance(positions, (list, tuple)) or len(positions) != len(target):
            raise wrong_return(self._expected, positions, wanted)
        out = []
        for p in positions:
            cols = [p] if isinstance(p, (int, np.integer)) else p
            if not isinstance(cols, (list, tuple)) or not all(
                    isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in cols):
                raise wrong_return(self._expected, positions, wanted)
            out.append([int(c) for c in cols if 0 <= c < len(source)])
        return out

    def expected_mask(self, example):
        """(kind, bool (Tq, Tk)): True where the answer lives, or None (no expectation)."""
        positions = self.expected_positions(example)
        if positions is None:
            return None
        source, target = example
        if self.kind == "seq2seq":
            mask = np.zeros((len(target) + 1, len(source) + 1), dtype=bool)
            for j, cols in enumerate(positions):
                mask[j, cols] = True
            return "cross", mask
        size = 1 + len(source) + len(target)
        mask = np.zeros((size, size), dtype=bool)
        for j, cols in enumerate(positions):
            mask[len(source) + j, [1 + c for c in cols]] = True
        return "decoder", mask

    # -- text <-> tokens -----------------------------------------------------
    def parse(self, text):
        """A user's input text -> source tokens (the task's ``parse``, else by characters
        when every token is one character, else by whitespace)."""
        parse = getattr(self.spec, "parse", None)
        if parse is not None:
            tokens = call(parse, text)
            if not isinstance(tokens, (list, tuple, str)) or not all(
                    isinstance(t, str) for t in tokens):
                raise wrong_return(parse, tokens, "it should return a list of str tokens")
            return list(tokens)
        if self._single_characters():
            return list(text) if " " in self.tokenizer.ids else list(text.replace(" ", ""))
        return text.split()

    def format(self, tokens, answer=False):
        """Tokens -> text, the inverse of :meth:`parse`. ``answer=True`` for a target or a
        model's answer, which a task may write in another order than people read it
        (its ``format_answer``, e.g. ``add`` writes the sum last digit first)."""
        function = getattr(self.spec, "format_answer", None) if answer else None
        function = function or getattr(self.spec, "format", None)
        if function is None:
            return "".join(tokens) if self._single_characters() else " ".join(tokens)
        text = call(function, list(tokens))
        if not isinstance(text, str):
            raise wrong_return(function, text, "it should return a str")
        return text

    def _single_characters(self):
        return all(len(t) == 1 for t in self.tokenizer.tokens[3:])
