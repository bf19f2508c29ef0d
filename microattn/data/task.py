"""The task contract: a module with ``KIND``, ``DESCRIPTION`` and ``example(rng)``,
turned into a :class:`Task` that batches, scores and explains its examples.

A task module (built-in, or a user's file) defines::

    KIND = "seq2seq"            # or "lm": a decoder-only GPT reads source then predicts target
    DESCRIPTION = "one line shown by `microattn tasks`"
    def example(rng):           # rng: numpy Generator -> (source, target), lists of str tokens

and optionally ``VOCAB`` (else discovered from sampled examples), ``MAX_LEN`` (the
longest source or target, else discovered), ``DEFAULTS`` (config values for
``microattn train``), ``expected_attention(source, target)`` (for each target
token, the source position or positions that carry it), ``parse(text)`` and
``format(tokens)`` (text <-> tokens for ``predict``). A module that needs options
(``charlm``'s ``--text``) defines ``configure(**options)`` returning an object
with those names; it may add ``validation_example(rng)`` (held-out examples from a
split of their own), ``OPEN_ENDED = True`` (targets are stretches of a text, not
whole answers: no ``<eos>`` is appended and there is no exact match to score)
and ``BASELINE_LOSS`` (a reference held-out loss, in nats per token).

Model coordinates (what the attention matrices of a batch of one example index):

- seq2seq: the encoder reads ``source <eos>`` (the end marker tells every
  position how far the end is); the decoder reads ``<bos> target`` and
  predicts ``target <eos>``; decoder row j predicts ``target[j]``.
- lm: the GPT reads ``<bos> source target`` and predicts the next token at each
  position; the loss counts only the predictions of ``target <eos>`` (just
  ``target`` for an open-ended task): row
  ``len(source) + j`` predicts ``target[j]``. A task whose sources vary in length
  should end them with a marker (``add`` ends with ``=``) so the model knows
  where the answer starts.
"""
import importlib
import importlib.util
import pathlib
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .tokenizer import BOS, EOS, Tokenizer

KINDS = ("seq2seq", "lm")
HELD_OUT_SIZE = 1000
HELD_OUT_SEED = 20240601      # the held-out set's own seed, never a training seed
DISCOVERY_SEED = 7            # examples drawn to discover VOCAB and MAX_LEN when not given
DISCOVERY_DRAWS = 2000
IGNORE = -100                 # target id that the loss skips (lm positions that are not answers)
MAX_REJECTIONS = 1000         # training draws in a row found in the held-out set before giving up
BUILT_IN = ("copy", "reverse", "sort", "add", "translate", "recall", "charlm")

class TaskError(ValueError):
    """A task that cannot be loaded or used: unknown name, bad file, bad example."""


@dataclass
class Batch:
    """Padded int64 arrays for the model. seq2seq: ``src`` (B, Ts), ``tgt_in``
    (B, Tt) (``<bos> target``), ``tgt_out`` (B, Tt) (``target <eos>``), and the
    padding masks (True at padding). lm: ``idx`` (B, T) and ``targets`` (B, T),
    ``IGNORE`` where no loss is taken. ``n_tokens``: tokens the model reads."""
    kind: str
    n_tokens: int
    src: np.ndarray = None
    tgt_in: np.ndarray = None
    tgt_out: np.ndarray = None
    src_padding_mask: np.ndarray = None
    tgt_padding_mask: np.ndarray = None
    idx: np.ndarray = None
    targets: np.ndarray = None


def _pad(rows, value):
    """Lists of ids -> int64 array (B, longest), right-padded with ``value``."""
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def _as_example(pair, where):
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TaskError(f"{where} should return (source, target), got {type(pair).__name__}")
    source, target = pair
    for part, name in ((source, "source"), (target, "target")):
        if not isinstance(part, (list, tuple)) or not all(isinstance(t, str) for t in part):
            raise TaskError(f"{where}: the {name} should be a list of str tokens, got {part!r:.80}")
    return tuple(source), tuple(target)


class Task:
    """A task module made usable: tokenizer, held-out set, batches, loss, predictions."""

    def __init__(self, spec, name, source=None):
        self.spec, self.name, self.source = spec, name, source
        self.kind = getattr(spec, "KIND", None)
        if self.kind not in KINDS:
            raise TaskError(f"task {name}: KIND should be 'seq2seq' or 'lm', got {self.kind!r}")
        if not callable(getattr(spec, "example", None)):
            raise TaskError(f"task {name} does not define example(rng)")
        self.description = str(getattr(spec, "DESCRIPTION", ""))
        self.defaults = dict(getattr(spec, "DEFAULTS", {}) or {})
        self.open_ended = bool(getattr(spec, "OPEN_ENDED", False))
        self.score_source = bool(getattr(spec, "SCORE_SOURCE", False))
        self.baseline_loss = getattr(spec, "BASELINE_LOSS", None)
        self._expected = getattr(spec, "expected_attention", None)

        self.held_out = self._draw_held_out()
        self._held_out_set = set(self.held_out)
        discovered = self.held_out + self._draw(np.random.default_rng(DISCOVERY_SEED),
                                                DISCOVERY_DRAWS)
        vocab = getattr(spec, "VOCAB", None)
        if vocab is None:
            vocab = sorted({t for s, tg in discovered for t in s + tg})
        self.tokenizer = Tokenizer(vocab)
        for example in discovered:
            self.check_tokens(example)
        self.max_len = getattr(spec, "MAX_LEN", None) or max(
            max(len(s), len(t)) for s, t in discovered)
        for example in discovered:
            self.check_length(example)
        self.held_out = [(list(s), list(t)) for s, t in self.held_out]

    # -- drawing examples ----------------------------------------------------
    def _draw(self, rng, n, function=None):
        function = function or self.spec.example
        where = f"task {self.name}: {getattr(function, '__name__', 'example')}(rng)"
        try:
            return [_as_example(function(rng), where) for _ in range(n)]
        except TaskError:
            raise
        except Exception as error:   # a user's example() failing is a task error, not a crash
            raise TaskError(f"{where} raised {type(error).__name__}: {error}") from error

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
            raise TaskError(f"task {self.name}: only {len(chosen)} distinct examples in "
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
                    raise TaskError(f"task {self.name}: {MAX_REJECTIONS} training draws in a "
                                    f"row were held-out examples; the task has too few "
                                    f"distinct examples")
                continue
            rejected = 0
            self.check_tokens(example)
            self.check_length(example)
            out.append((list(example[0]), list(example[1])))
        return out

    def check_tokens(self, example):
        try:
            self.tokenizer.encode(list(example[0]) + list(example[1]))
        except ValueError as error:
            raise TaskError(f"task {self.name}: an example has tokens {error} "
                            f"(define VOCAB to list every token)") from None

    def check_length(self, example):
        longest = max(len(example[0]), len(example[1]))
        if longest > self.max_len:
            raise TaskError(f"task {self.name}: an example of length {longest} is longer "
                            f"than MAX_LEN={self.max_len}")

    # -- the model's view ----------------------------------------------------
    @property
    def model_max_len(self):
        """Positions the model needs: seq2seq ``<bos> target <eos>`` (and ``source <eos>``);
        lm ``<bos> source target <eos>``; open-ended lm ``<bos> target`` less the last token,
        so that generating longer texts slides over trained positions only."""
        if self.kind == "seq2seq":
            return self.max_len + 2
        return self.max_len if self.open_ended else 2 * self.max_len + 2

    def batch(self, examples):
        """(source, target) pairs -> a padded :class:`Batch`."""
        tok = self.tokenizer
        if self.kind == "seq2seq":
            src = _pad([tok.encode(s) + [tok.eos_id] for s, _ in examples], tok.pad_id)
            tgt = _pad([[tok.bos_id] + tok.encode(t) + [tok.eos_id] for _, t in examples],
                       tok.pad_id)
            tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
            return Batch("seq2seq", int((src != tok.pad_id).sum() + (tgt_in != tok.pad_id).sum()),
                         src=src, tgt_in=tgt_in, tgt_out=tgt_out,
                         src_padding_mask=src == tok.pad_id,
                         tgt_padding_mask=tgt_in == tok.pad_id)
        rows, answer = [], []
        for s, t in examples:
            ids = [tok.bos_id] + tok.encode(s) + tok.encode(t)
            ids += [] if self.open_ended else [tok.eos_id]
            rows.append(ids)
            answer.append(0 if self.score_source else len(s))   # first scored position
        seq = _pad(rows, tok.pad_id)
        idx, targets = seq[:, :-1], seq[:, 1:].copy()
        positions = np.arange(targets.shape[1])
        lengths = np.array([len(r) - 1 for r in rows])
        scored = (positions >= np.array(answer)[:, None]) & (positions < lengths[:, None])
        targets[~scored] = IGNORE
        return Batch("lm", int(lengths.sum()), idx=idx, targets=targets)

    def logits(self, model, batch):
        """The model's logits for a batch: (B, T, vocab)."""
        if batch.kind == "seq2seq":
            return model(batch.src, batch.tgt_in, src_key_padding_mask=batch.src_padding_mask,
                         tgt_key_padding_mask=batch.tgt_padding_mask)
        return model(batch.idx)

    def targets(self, batch):
        """Target ids (B, T) aligned with :meth:`logits`, and the id the loss ignores."""
        if batch.kind == "seq2seq":
            return batch.tgt_out, self.tokenizer.pad_id
        return batch.targets, IGNORE

    def loss(self, model, batch, logits=None):
        """Mean cross-entropy over the scored target tokens (graph attached)."""
        logits = self.logits(model, batch) if logits is None else logits
        targets, ignore = self.targets(batch)
        vocab = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1),
                               ignore_index=ignore)

    def predict(self, model, sources):
        """Greedy answers (lists of str tokens) for source token lists; the model in eval()."""
        tok = self.tokenizer
        if self.kind == "seq2seq":
            src = _pad([tok.encode(s) + [tok.eos_id] for s in sources], tok.pad_id)
            out = model.greedy_decode(src, self.max_len + 2, tok.bos_id, tok.eos_id,
                                      src_key_padding_mask=src == tok.pad_id)
            return [tok.decode(row) for row in np.asarray(out._data)]
        answers = [None] * len(sources)
        by_length = {}
        for i, s in enumerate(sources):   # a GPT batch needs one prompt length: group by it
            by_length.setdefault(len(s), []).append(i)
        for length, rows in by_length.items():
            prompt = np.array([[tok.bos_id] + tok.encode(sources[i]) for i in rows], dtype=np.int64)
            room = max(1, min(self.max_len + 1, model.max_len - prompt.shape[1]))
            out = np.asarray(model.generate(prompt, room, temperature=0)._data)
            for i, row in zip(rows, out[:, prompt.shape[1]:]):
                answers[i] = tok.decode(row)
        return answers

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
        positions = self._expected(source, target)
        if positions is None:
            return None
        positions = [[p] if isinstance(p, (int, np.integer)) else list(p) for p in positions]
        return [[p for p in cols if 0 <= p < len(source)] for cols in positions]

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
        if hasattr(self.spec, "parse"):
            return list(self.spec.parse(text))
        if self._single_characters():
            return list(text) if " " in self.tokenizer.ids else list(text.replace(" ", ""))
        return text.split()

    def format(self, tokens, answer=False):
        """Tokens -> text, the inverse of :meth:`parse`. ``answer=True`` for a target or a
        model's answer, which a task may write in another order than people read it
        (its ``format_answer``, e.g. ``add`` writes the sum last digit first)."""
        if answer and hasattr(self.spec, "format_answer"):
            return self.spec.format_answer(tokens)
        if hasattr(self.spec, "format"):
            return self.spec.format(tokens)
        return "".join(tokens) if self._single_characters() else " ".join(tokens)

    def _single_characters(self):
        return all(len(t) == 1 for t in self.tokenizer.tokens[3:])


def _load_file(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise TaskError(f"no task file {str(path)!r}")
    module_name = f"microattn_user_task_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:   # a broken user file is bad input, reported in one line
        raise TaskError(f"cannot import task file {str(path)!r}: "
                        f"{type(error).__name__}: {error}") from error
    return module


def load_task(name_or_path, **options):
    """A built-in task by name (``copy``, ``reverse``, ...) or a task file ``*.py``.
    ``options`` (e.g. ``text=PATH`` for ``charlm``) go to the task's ``configure``."""
    name_or_path = str(name_or_path)
    if name_or_path.endswith(".py") or "/" in name_or_path:
        module = _load_file(name_or_path)
        name = pathlib.Path(name_or_path).stem
    elif name_or_path in BUILT_IN:
        module = importlib.import_module(f"{__package__}.tasks.{name_or_path}")
        name = name_or_path
    else:
        raise TaskError(f"unknown task {name_or_path!r}; built-in tasks: {', '.join(BUILT_IN)} "
                        f"(or give a task file ending in .py)")
    options = {k: v for k, v in options.items() if v is not None}
    if name_or_path.endswith(".py") or "/" in name_or_path:
        # Runs remember the file by its absolute path, to be found from anywhere later.
        name_or_path = str(pathlib.Path(name_or_path).resolve())
    if hasattr(module, "configure"):
        try:
            spec = module.configure(**options)
        except TaskError:
            raise
        except (OSError, ValueError, TypeError) as error:
            raise TaskError(f"task {name}: {error}") from error
    elif options:
        raise TaskError(f"task {name} takes no options ({', '.join('--' + k for k in options)})")
    else:
        spec = module
    return Task(spec, name, source=name_or_path)


def log_loss_baseline(counts_train, counts_eval):
    """Cross-entropy (nats per token) of ``counts_eval`` under the unigram distribution of
    ``counts_train`` (add-one smoothed): the loss a model that ignores context would get."""
    p = (counts_train + 1) / (counts_train + 1).sum()
    return float(-(counts_eval * np.log(p)).sum() / counts_eval.sum())


__all__ = ["Task", "Batch", "TaskError", "load_task",
           "KINDS", "BUILT_IN", "IGNORE", "HELD_OUT_SIZE", "log_loss_baseline"]
