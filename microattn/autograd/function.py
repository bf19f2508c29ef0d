"""Function: one differentiable op, and the node it leaves in the graph.

An op is a subclass with ``forward(ctx, *args)`` and ``backward(ctx, grad)``,
both on numpy arrays. ``ctx`` *is* the graph node: ``Op.apply`` makes an
instance, ``forward`` keeps on it what ``backward`` will need, and the output
tensor holds it as ``grad_fn``.
"""
import numpy as np

from . import quiet, version
from .engine import leaf_node
from .errors import ShapeError
from .grad_mode import state
from .tensor import Tensor, get_default_dtype

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


class Function:
    """Base class of every differentiable op.

    Subclasses implement::

        def forward(ctx, *args):   # ndarrays for tensor arguments, other values as given
            ...                    # -> one ndarray (or a tuple: the output, then arrays
                                   #    returned as constant tensors beside it)
        def backward(ctx, grad):   # grad = dL/d(output), an ndarray of the output's shape
            ...                    # -> one gradient per forward argument (or just one)

    ``backward`` may return a gradient in the broadcast shape of the output
    (the engine sums it back to each input's shape) and in the promoted dtype
    (the engine casts it back). It returns ``None`` for arguments that are
    not tensors or need no gradient; ``ctx.needs_input_grad[i]`` says which
    do, so work can be skipped.

    ``promote`` lists the positions of the arguments whose dtypes combine by
    PyTorch's rules (see :func:`promote`); ``floating = True`` makes an integer
    result the default float dtype (exp, true division).
    """

    promote = ()
    floating = False

    def __init_subclass__(cls, **kwargs):
        # Each op gets its own apply, a plain function, so that a table can make it
        # a Tensor method as it is: with Tensor.exp = Exp.apply, x.exp() is Exp.apply(x).
        super().__init_subclass__(**kwargs)
        cls.apply = staticmethod(lambda *args, **options: apply(cls, args, options))

    @property
    def needs_input_grad(self):
        """One bool per forward argument: does it take a gradient?"""
        return tuple([p is not None for p in self._parents])

    def save_for_backward(self, *arrays):
        """Keep arrays for ``backward``; they are freed once backward has run.

        Their version counters are noted too: backward refuses to run on an
        array that an in-place op has written since (see autograd/version.py)."""
        self.saved_tensors = arrays
        if any(self._parents):  # only a node in a graph will run backward
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
        """Free what forward kept (everything but the engine's own fields); the
        node stays, so the graph can still be drawn."""
        kept = {k: v for k, v in vars(self).items() if k in _ENGINE_FIELDS}
        self.__dict__.clear()
        self.__dict__.update(kept)
        self._released = True

    _released = False
    _view = False

    def __repr__(self):
        return f"<{self.name()}>"


_ENGINE_FIELDS = ("_parents", "shape", "dtype", "module_path", "_hooks", "_retained")


def apply(op, args, options):
    """Run ``op`` on tensors and plain values; record a node when a gradient is needed.

    Tensors among ``args`` are unwrapped to their arrays; the arguments at
    ``op.promote`` get one dtype (:func:`promote`); forward runs on plain numpy.
    ``options`` (keyword arguments: dims, flags) go to forward as they are.
    """
    ctx = object.__new__(op)
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
    if op.promote:
        promote(raw, op.promote, op.floating)
    ctx._parents = parents
    try:
        if quiet.active:  # inside a Module's forward or a backward: already silenced
            out = ctx.forward(*raw, **options)
        else:
            with quiet.silenced():
                out = ctx.forward(*raw, **options)
    except (ValueError, IndexError, TypeError) as error:
        raise _explain(op, args, error) from None
    extras = ()
    if type(out) is tuple:  # (output, values for inspection, which take no gradient)
        out, *extras = out
        extras = tuple(Tensor._make(e, None) for e in extras)
    if not recording:
        result = Tensor._make(out, None)
    else:
        ctx.shape = out.shape
        ctx.dtype = out.dtype
        ctx.module_path = state.module_path
        ctx._hooks = None     # gradient hooks on the output (Tensor.register_hook)
        ctx._retained = None  # weakref to the output once it calls retain_grad()
        if out.base is not None and raw and type(raw[0]) is np.ndarray and (
                version.base_of(out) is version.base_of(raw[0])):
            ctx._view = True  # a view of its first input: a write into it writes that input
        result = Tensor._make(out, ctx)
    return (result, *extras) if extras else result


def result_type(values, floating=False):
    """The dtype of an op on ``values`` (arrays and Python or numpy numbers), by PyTorch's rules.

    Categories rank bool < integer < float. Arrays with dims outrank 0-d arrays,
    which outrank numbers (numbers and 0-d tensors are "weak"): a weaker operand
    decides the dtype only when its category is higher, and then a float number
    gives the default float dtype. So int64 + float32 is float32, float16 * 2.5
    stays float16, int64 * 2.5 is float32 and float32 + float64 0-d is float32.
    """
    ranks = [None, None, None]  # dims > 0, 0-d, numbers
    for v in values:
        if isinstance(v, np.ndarray):
            rank, dtype = (0 if v.ndim else 1), v.dtype
        elif isinstance(v, (bool, np.bool_)):
            rank, dtype = 2, np.dtype(np.bool_)
        elif isinstance(v, (int, np.integer)):
            rank, dtype = 2, np.dtype(np.int64)
        elif isinstance(v, (float, np.floating)):
            rank, dtype = 2, get_default_dtype()
        else:
            raise TypeError(f"expected a tensor, an array or a number, got {type(v).__name__}")
        ranks[rank] = dtype if ranks[rank] is None else _promote_pair(ranks[rank], dtype)
    result = None
    for dtype in ranks:  # strongest first
        if dtype is not None and (result is None
                                  or _CATEGORY[dtype.kind] > _CATEGORY[result.kind]):
            result = dtype
    if floating and result.kind not in "fc":
        result = get_default_dtype()
    return result


def _promote_pair(a, b):
    """Two dtypes of one rank: the higher category wins (int64 and float16 give
    float16); within a category, the wider one."""
    ka, kb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ka != kb:
        return a if ka > kb else b
    return np.promote_types(a, b)


def promote(raw, positions, floating):
    """Give the values at ``positions`` of ``raw`` one dtype, in place: arrays cast,
    numbers made 0-d arrays, so a forward is plain numpy (``Add.forward`` is a + b)."""
    positions = [i for i in positions if i < len(raw) and raw[i] is not None]
    values = [raw[i] for i in positions]
    first = values[0]
    if (type(first) is np.ndarray and all(type(v) is np.ndarray and v.dtype == first.dtype
                                          for v in values)
            and (first.dtype.kind in "fc" or not floating)):
        return  # already one dtype: the common case costs one pass
    dtype = result_type(values, floating)
    for i, v in zip(positions, values):
        if type(v) is not np.ndarray or v.dtype != dtype:
            raw[i] = np.asarray(v, dtype=dtype)


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
    if type(error) is ValueError:  # numpy's word for shapes that do not fit
        return ShapeError(message)
    try:
        return type(error)(message)
    except Exception:  # an exception type with a different constructor
        return ValueError(message)
