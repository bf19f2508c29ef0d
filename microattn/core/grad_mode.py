"""Global autograd state: whether graphs are recorded, which module is running, and
whether numpy's floating-point warnings are off.

They live on one small object so the hot path (``Function.apply``) reads them
with a single attribute lookup each.
"""
import functools


class _State:
    __slots__ = ("grad_enabled", "module_path", "quiet")

    def __init__(self):
        self.grad_enabled = True
        # Dotted path of the innermost running Module ("" outside any module), which
        # Module.__call__ sets; every graph node copies it so pictures can be
        # clustered by module.
        self.module_path = ""
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
