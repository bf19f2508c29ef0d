"""Global autograd state, on one small object that the hot path reads with one
attribute lookup: is a graph recorded, which module runs, are numpy's warnings off."""
import functools


class _State:
    __slots__ = ("grad_enabled", "module_path", "quiet")

    def __init__(self):
        self.grad_enabled = True
        self.module_path = ""  # the running Module's dotted path: nodes note it, for pictures
        self.quiet = False  # inside silenced() (core/tensor.py): numpy's warnings are off


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
