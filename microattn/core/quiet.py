"""numpy's floating-point warnings off while microattn computes, as PyTorch is silent.

``log(0)`` is -inf and ``0 / 0`` is nan in PyTorch without a word; numpy prints
"RuntimeWarning: divide by zero" unless told not to. ``np.errstate`` around
every op costs about 6 us (40% of a small op; benchmarks/errstate_cost.py),
so the switch is made once per outermost call: a Module's forward, a
backward, or an op called outside both. Inside, ``active`` is True and ops
pay one attribute read. The switch sets numpy's error-state context variable
directly where numpy has one (numpy 2: about 1 us), else uses ``np.errstate``.
"""
import numpy as np

try:  # numpy >= 2 keeps its error state in a context variable
    from numpy._core._ufunc_config import _extobj_contextvar as _errors
    from numpy._core.umath import _make_extobj
    _IGNORE = _make_extobj(all="ignore")
except ImportError:  # pragma: no cover - older numpy
    _errors = None

active = False


class silenced:
    """``with silenced():`` numpy's floating-point warnings are off inside (nested: free)."""

    __slots__ = ("_outer", "_token", "_errstate")

    def __enter__(self):
        global active
        self._outer = active
        if not self._outer:
            active = True
            if _errors is not None:
                self._token = _errors.set(_IGNORE)
            else:
                self._errstate = np.errstate(all="ignore")
                self._errstate.__enter__()
        return self

    def __exit__(self, *exc):
        global active
        if not self._outer:
            if _errors is not None:
                _errors.reset(self._token)
            else:
                self._errstate.__exit__(*exc)
            active = False
        return False
