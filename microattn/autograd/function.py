"""Function: one differentiable op, and the node it leaves in the graph.

An op is a subclass with ``forward(ctx, *args)`` and ``backward(ctx, grad)``,
both on numpy arrays. ``ctx`` *is* the graph node: ``Op.apply`` makes an
instance, ``forward`` keeps on it what ``backward`` will need, and the output
tensor holds it as ``grad_fn``.
"""
import numpy as np

from . import version
from .engine import leaf_node
from .grad_mode import state
from .tensor import Tensor


class Function:
    """Base class of every differentiable op.

    Subclasses implement::

        def forward(ctx, *args):   # ndarrays for tensor arguments, other values as given
            ...                    # -> one ndarray
        def backward(ctx, grad):   # grad = dL/d(output), an ndarray of the output's shape
            ...                    # -> one gradient per forward argument (or just one)

    ``backward`` may return a gradient in the broadcast shape of the output:
    the engine sums it back to each input's shape. It returns ``None`` for
    arguments that are not tensors or need no gradient;
    ``ctx.needs_input_grad[i]`` says which do, so work can be skipped.
    """

    # Engine bookkeeping lives in slots; what forward keeps on ctx lives in
    # __dict__, which backward clears to free it.
    __slots__ = ("_parents", "saved_tensors", "shape", "dtype", "module_path",
                 "_hooks", "_retained", "__dict__", "__weakref__")
    _released = False  # set on the node once backward has freed what forward kept

    @classmethod
    def apply(cls, *args):
        """Run the op on tensors and plain values; record a node when a gradient is needed."""
        ctx = cls.__new__(cls)
        raw = []
        parents = []
        recording = False
        grad_enabled = state.grad_enabled
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a.data)
                if grad_enabled and a._requires_grad:
                    recording = True
                    parents.append(a.grad_fn or leaf_node(a))
                    continue
            else:
                raw.append(a)
            parents.append(None)
        ctx._parents = parents
        try:
            out = ctx.forward(*raw)
        except (ValueError, IndexError, TypeError) as error:
            raise _explain(cls, args, error) from None
        if not recording:
            return Tensor._make(out, None)
        ctx.shape = out.shape
        ctx.dtype = out.dtype
        ctx.module_path = state.module_path
        ctx._hooks = None     # gradient hooks on the output (Tensor.register_hook)
        ctx._retained = None  # weakref to the output once it calls retain_grad()
        return Tensor._make(out, ctx)

    @property
    def needs_input_grad(self):
        """One bool per forward argument: does it take a gradient?"""
        return tuple([p is not None for p in self._parents])

    def save_for_backward(self, *arrays):
        """Keep arrays for ``backward``; they are freed once backward has run.

        Their version counters are noted too: backward refuses to run on an
        array that an in-place op has written since (see autograd/version.py)."""
        self.saved_tensors = arrays
        self._saved_versions = version.snapshot(arrays)

    def name(self):
        """Readable node name, e.g. ``SoftmaxBackward``."""
        return type(self).__name__ + "Backward"

    @property
    def next_functions(self):
        """``((node, 0), ...)``, one pair per forward argument, as in PyTorch;
        node is None where the argument takes no gradient."""
        return tuple((p, 0) for p in self._parents)

    def register_hook(self, fn):
        """``fn(grad) -> Tensor | None`` sees dL/d(output) before it flows on;
        a returned tensor replaces it."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)

    def _release(self):
        """Free what forward kept; the node stays, so the graph can still be drawn."""
        self.saved_tensors = None
        self.__dict__.clear()
        self._released = True

    def __repr__(self):
        return f"<{self.name()}>"


def _describe(arg):
    """An argument as an error message shows it: tensors and arrays by shape."""
    if isinstance(arg, Tensor):
        return str(tuple(arg.shape))
    if isinstance(arg, np.ndarray):
        return f"array(shape={arg.shape}, dtype={arg.dtype})"
    return repr(arg)


def _explain(op, args, error):
    """The same kind of error, saying which op failed and on which shapes,
    instead of a bare numpy message from deep inside."""
    shapes = ", ".join(_describe(a) for a in args)
    message = f"{op.__name__}({shapes}): {error}"
    try:
        return type(error)(message)
    except Exception:  # an exception type with a different constructor
        return ValueError(message)
