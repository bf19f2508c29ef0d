"""How a learner's answer is compared with the library's: the first wrong element
with expected and got, and, when the answer equals a known wrong variant, the
mistake by name (mistakes.py).

A check is a sequence of cases; the first that fails raises :class:`Failure`,
which says what was called, on what, what went wrong and, if recognised, why.
"""
import re
import traceback
from pathlib import Path

import numpy as np

import microattn as ma

# float64 answers agree with the library's to rounding: anything more is a mistake.
RTOL, ATOL = 1e-6, 1e-9
FLOAT32_TOLERANCES = 1e-4, 1e-5
TEMPLATE_NAME = re.compile(r"ex\d\d_\w+\.py$")


class NotDone(Exception):
    """The learner's file still raises NotImplementedError (or is missing)."""


class LearnerCodeError(RuntimeError):
    """The learner's code raised while the library ran it as an op (learner_ops.py);
    the message names the function, the error and the line of their file."""


class Failure(Exception):
    """One failed case: ``what`` was called, ``detail`` says how it failed, and
    ``mistake`` (a mistakes.Mistake or None) names the recognised error."""

    def __init__(self, what, detail, mistake=None):
        super().__init__(f"{what}: {detail}")
        self.what, self.detail, self.mistake = what, detail, mistake


def describe(value):
    """'(2, 5) float64' for an array, the repr for anything else."""
    if isinstance(value, np.ndarray):
        return f"{value.shape} {value.dtype}"
    if isinstance(value, ma.Tensor):
        return f"tensor {tuple(value.shape)} {value.dtype}"
    return repr(value)


def signature(name, **arguments):
    """'softmax_backward(y (2, 5) float64, g (2, 5) float64)'."""
    return f"{name}({', '.join(f'{k} {describe(v)}' for k, v in arguments.items())})"


def learner_frame(error):
    """'line 12 of ex04_softmax.py' for the deepest traceback frame in a workspace file
    ('' when the error did not pass through the learner's code)."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"line {error.lineno} of {Path(error.filename).name}"
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if TEMPLATE_NAME.match(Path(f.filename).name)]
    return f"line {frames[-1].lineno} of {Path(frames[-1].filename).name}" if frames else ""


def learner_error(what, error):
    """A Failure for an exception the learner's code raised; the exception itself
    (re-raised) if it did not come from their code: that would be a bug of the check."""
    where = learner_frame(error)
    if not where:
        raise error
    return Failure(what, f"raised {type(error).__name__}: {error} ({where})")


def call(what, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; NotImplementedError becomes :class:`NotDone`, any other
    exception a :class:`Failure` naming the call and the line of the learner's file."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as error:
        raise NotDone(str(error)) from None
    except Exception as error:  # the learner's code may raise anything: report it
        raise learner_error(what, error) from None


def unchanged(what, before, after):
    """Raise a Failure if the call changed an input array in place."""
    for name, old in before.items():
        if not np.array_equal(old, after[name], equal_nan=True):
            raise Failure(what, f"changed its input {name} in place; compute a new array "
                                f"(y = g - ..., not g -= ...)")


def _as_array(what, got, expected):
    if isinstance(got, ma.Tensor):
        got = got.detach().numpy()
    if got is None or not isinstance(got, (np.ndarray, np.generic, float, int)):
        raise Failure(what, f"returned {type(got).__name__}, expected an array of shape "
                            f"{expected.shape}")
    return np.asarray(got)


def matches(got, value):
    """Does ``got`` equal the wrong variant ``value`` (same shape, same numbers)?"""
    value = np.asarray(value)
    return (got.shape == value.shape
            and np.allclose(got, value, rtol=1e-5, atol=1e-8, equal_nan=True))


def _variant_values(variant):
    """A variant's wrong values: it may be a value, a list of them (several ways to make
    the same mistake), or a function giving either; one whose shapes do not fit is None."""
    try:
        value = variant() if callable(variant) else variant
    except (ValueError, IndexError):  # this wrong formula does not even fit these shapes
        return []
    return value if isinstance(value, list) else [value]


def diagnose(got, mistakes):
    """The first mistake whose variant equals ``got``; ``mistakes`` maps each Mistake to
    its wrong value(s) or a function computing them (called only here)."""
    with np.errstate(all="ignore"):
        for mistake, variant in mistakes.items():
            if any(v is not None and matches(got, v) for v in _variant_values(variant)):
                return mistake
    return None


def compare(what, got, expected, mistakes=None, dtype=None):
    """Raise a Failure unless ``got`` has ``expected``'s shape (and ``dtype``, if given)
    and its values, to rounding in expected's dtype. ``mistakes``: {Mistake: wrong
    value(s) or a function giving them}."""
    mistakes = mistakes or {}
    expected = np.asarray(expected)
    rtol, atol = (RTOL, ATOL) if expected.dtype != np.float32 else FLOAT32_TOLERANCES
    got = _as_array(what, got, expected)
    if got.shape != expected.shape:
        raise Failure(what, f"shape {got.shape}, expected {expected.shape}",
                      diagnose(got, mistakes))
    if dtype is not None and got.dtype != dtype:
        raise Failure(what, f"dtype {got.dtype} for {dtype} input, expected {dtype} (a "
                            f"float64 scalar or np.zeros without dtype= promotes it)")
    close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return
    first = tuple(int(i) for i in np.argwhere(~close)[0])
    index = list(first) if first else "()"
    detail = (f"{int((~close).sum())} of {close.size} values wrong; first at {index}: expected "
              f"{float(expected[first]):.6g}, got {float(got[first]):.6g}")
    raise Failure(what, detail, diagnose(got, mistakes))


def gradcheck(what, fn, arrays):
    """Central differences of the learner's own forward against their backward: ``fn``
    maps float64 tensors (one per array, all requiring grad) to an output tensor."""
    inputs = [ma.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    try:
        ma.gradcheck(fn, inputs, atol=1e-6, rtol=1e-4)
    except ma.GradcheckError as error:
        raise Failure(what, f"your backward disagrees with central differences of your "
                            f"forward: {error}") from None
    except NotImplementedError as error:
        raise NotDone(str(error)) from None
    except LearnerCodeError as error:
        raise Failure(what, str(error)) from None


def unpack(what, result, names):
    """``result`` as the tuple of len(names) arrays the docstring promises, or a Failure."""
    if not (isinstance(result, (tuple, list)) and len(result) == len(names)):
        raise Failure(what, f"returned {type(result).__name__}, expected a tuple "
                            f"({', '.join(names)})")
    return tuple(result)


def run(name, fn, **arguments):
    """(what, result): ``fn`` called with copies of ``arguments`` (in order), which must
    come back unchanged; ``what`` names the call and its inputs for messages."""
    what = signature(name, **arguments)
    given = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in arguments.items()}
    result = call(what, fn, *given.values())
    unchanged(what, {k: v for k, v in arguments.items() if isinstance(v, np.ndarray)}, given)
    return what, result
