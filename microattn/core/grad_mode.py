"""Global autograd state: whether graphs are recorded, which module is running, and
whether numpy's floating-point warnings are off.

They live on one small object so the hot path (``Function.apply``) reads them
with a single attribute lookup each.
"""
import functools

import numpy as np

try:  # numpy >= 2 keeps its error state in a context variable: set it directly
    from numpy._core._ufunc_config import _extobj_contextvar as _errors
    from numpy._core.umath import _make_extobj
    _IGNORE = _make_extobj(all="ignore")
except ImportError:  # pragma: no cover - older numpy: its global state, saved and restored
    class _errors:
        set = staticmethod(lambda ignore: np.seterr(all="ignore"))
        reset = staticmethod(lambda saved: np.seterr(**saved))
    _IGNORE = None


class _State:
    __slots__ = ("grad_enabled", "module_path", "quiet")

    def __init__(self):
        self.grad_enabled = True
        # Dotted path of the innermost running Module ("" outside any module), which
        # Module.__call__ sets; every graph node copies it so pictures can be
        # clustered by module.
        self.module_path = ""
        self.quiet = False  # inside silenced(): numpy's floating-point warnings are off


state = _State()


def is_grad_enabled():
    """True when operations on tensors that require grad record a graph."""
    return state.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode, restoring it on exit."""

    enabled = True

    def __enter__(self):
        self._previous = state.grad_enabled
        state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: ``with ma.no_grad(): ...`` or ``@ma.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block."""

    enabled = True


class silenced:
    """``with silenced():`` numpy's floating-point warnings off inside, as PyTorch is
    silent about inf and nan (``log(0)``, ``0 / 0``); nested, it costs nothing.

    ``np.errstate`` around every op costs 22% of a MultiheadAttention
    forward+backward (benchmarks/errstate_cost.py), so Function.apply,
    Module.__call__ and backward enter this once per outermost call, setting
    numpy's error-state context variable directly (about 1 us).
    """

    __slots__ = ("_outer", "_token")

    def __enter__(self):
        self._outer, state.quiet = state.quiet, True
        if not self._outer:
            self._token = _errors.set(_IGNORE)

    def __exit__(self, *exc):
        if not self._outer:
            _errors.reset(self._token)
        state.quiet = self._outer
