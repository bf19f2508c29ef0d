"""The engine: Tensor, the Function an op leaves in the graph, and the walk back.

A Tensor holds an ndarray, its gradient and ``grad_fn``, the node of the op
that made it. An op is a Function subclass with ``forward(ctx, *args)`` and
``backward(ctx, grad)`` on numpy arrays: ``Op.apply`` unwraps the tensors,
runs forward and wraps the result; when a gradient is needed, ``ctx`` is kept
as the result's ``grad_fn`` (``ctx`` *is* the graph node). ``backward()``
visits the nodes in topological order, calls each ``backward`` and adds the
gradients up. The ops live in ``microattn.ops``, which binds them onto
Tensor (``x.exp()`` is ``Exp.apply(x)``), so this file imports no op.
"""
import weakref

import numpy as np
from numpy._core._ufunc_config import _extobj_contextvar as _numpy_errors
from numpy._core.umath import _make_extobj

from . import hooks
from .dtype import as_array, check_device
from .errors import ShapeError
from .grad_mode import state


class Tensor:
    """An n-dimensional array that records how it was computed, so gradients
    can flow back through it.

    ``Tensor(data, requires_grad=False, dtype=None)`` follows the dtype rules of
    :func:`microattn.tensor`.
    """

    __slots__ = ("_data", "_grad", "_requires_grad", "grad_fn", "_grad_accumulator",
                 "__weakref__")
    # numpy defers to our reflected operators (``array + tensor`` is a Tensor), and
    # its functions read a tensor as its array (``np.isfinite(t.grad)``), as with PyTorch.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        self._data = as_array(data._data if isinstance(data, Tensor) else data, dtype)
        self._grad = self.grad_fn = self._grad_accumulator = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data, grad_fn):
        """Wrap an op's result (the fast path every op goes through)."""
        t = object.__new__(cls)
        t._data = data if type(data) is np.ndarray else np.asarray(data)
        t._grad = t._grad_accumulator = None
        t.grad_fn, t._requires_grad = grad_fn, grad_fn is not None
        return t

    # -- gradient ------------------------------------------------------------
    @property
    def grad(self):
        """dL/d(this tensor) after ``backward()``: a Tensor without a graph (its
        ``.numpy()`` the array), or None, as in PyTorch."""
        return self._grad

    @grad.setter
    def grad(self, value):
        """As PyTorch: None, or a gradient of exactly this tensor's shape and dtype,
        so that nothing is broadcast or cast unnoticed. A tensor is kept as it is;
        an ndarray is wrapped in one."""
        if value is not None:
            array = value._data if isinstance(value, Tensor) else value
            if not isinstance(array, np.ndarray):
                raise TypeError(f"assigned grad expected to be a tensor, an ndarray or None, "
                                f"but got grad of type {type(value).__name__}")
            if array.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of shape {array.shape} to "
                                   f"a tensor of shape {self._data.shape}: they must match")
            if array.dtype != self._data.dtype:
                raise RuntimeError(f"attempting to assign a gradient of dtype {array.dtype} to "
                                   f"a tensor of dtype {self._data.dtype}: they must match")
            if not isinstance(value, Tensor):
                value = Tensor._make(array, None)
        self._grad = value

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError(
                    "requires_grad can only be changed on leaf tensors; "
                    "use .detach() to get a tensor that does not require grad")
            return
        if flag and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only floating-point tensors can require gradients, not "
                               f"{self._data.dtype} (convert it first, e.g. with .float())")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        """True unless a recorded op made this tensor; only leaves keep ``.grad``
        (others too after ``retain_grad()``)."""
        return self.grad_fn is None

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._make(self._data, None)

    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` is dL/d(self); it may be left out only when self holds a
        single element (then it is 1). The graph is freed afterwards unless
        ``retain_graph=True``.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad and has no grad_fn: "
                "make an input with requires_grad=True (outside no_grad) first")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient works only on a single-element tensor; "
                    f"this one has shape {self.shape}: pass gradient=, an array of shape "
                    f"{self.shape} holding dL/d(this tensor) (e.g. ma.ones_like(t)), or "
                    f"reduce it first (t.sum().backward())")
            gradient = np.ones(self._data.shape, self._data.dtype)
        grad = np.asarray(gradient._data if isinstance(gradient, Tensor) else gradient,
                          dtype=self._data.dtype)
        if grad.shape != self._data.shape:
            raise RuntimeError(f"backward(): gradient has shape {grad.shape}, "
                               f"but the tensor has shape {self.shape}")
        with silenced():  # numpy's inf/nan warnings off, once for the whole backward
            run_backward(self.grad_fn or leaf_node(self), grad, retain_graph)

    def register_hook(self, fn):
        """Call ``fn(grad)`` with this tensor's gradient during backward; if it
        returns a tensor (of the gradient's shape and dtype, as PyTorch checks),
        that replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        node = self.grad_fn if self.grad_fn is not None else leaf_node(self)
        node.register_hook(fn)
        return _HookHandle(node, fn)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor during backward (leaves always do)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad: "
                               "it will never receive a gradient")
        if self.grad_fn is not None:
            self.grad_fn._retained = weakref.ref(self)

    def __deepcopy__(self, memo):
        """A new leaf with copies of the data and grad, and a graph node of its
        own (sharing the original's would send the copy's gradients to it)."""
        if self.grad_fn is not None:
            raise RuntimeError("only leaf tensors can be deep-copied: detach() the "
                               "result of an op first")
        copy = type(self)._make(self._data.copy(), None)
        copy._requires_grad = self._requires_grad
        copy.grad = None if self._grad is None else self._grad._data.copy()
        memo[id(self)] = copy
        return copy

    # -- array facts -------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    def item(self):
        """The single value held, as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"item() needs a tensor with one element, this one has shape "
                               f"{self.shape}")
        return self._data.item()

    def numpy(self):
        """The underlying ndarray (shared, not copied), as ``Tensor.numpy()`` in PyTorch."""
        if self._requires_grad:
            raise RuntimeError("can't call numpy() on a tensor that requires grad: "
                               "use tensor.detach().numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        """The data for numpy: ``np.asarray(t)`` shares it, ``np.array(t)`` copies it."""
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        return np.asarray(self._data, dtype=dtype)

    def __repr__(self):  # compat prints as PyTorch does
        return f"tensor({self._data}, grad_fn={self.grad_fn})"

    # Tensors are compared elementwise (``==`` gives a bool tensor), so they
    # hash by identity, as in PyTorch.
    __hash__ = object.__hash__

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self._data)


class _HookHandle:
    __slots__ = ("_node", "_fn")

    def __init__(self, node, fn):
        self._node, self._fn = node, fn

    def remove(self):
        hooks_ = list(self._node._hooks or ())
        if self._fn in hooks_:
            hooks_.remove(self._fn)  # this registration only, as PyTorch's handle
        self._node._hooks = hooks_ or None


def tensor(data, dtype=None, device=None, requires_grad=False):
    """Make a leaf tensor from a number, (nested) list, ndarray or tensor (copied);
    ``device`` can only be the CPU."""
    check_device(device, "tensor")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# -- the graph node ----------------------------------------------------------

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
    (the engine casts it back); ``None`` for arguments that take no gradient
    (``ctx.needs_input_grad[i]`` says which do, so work can be skipped).

    ``promote`` lists the positions of the arguments whose dtypes are made one
    (by ``hooks.promote``: PyTorch's rules, installed by compat); ``floating = True``
    makes an integer result the default float dtype (exp, true division).
    """

    promote = ()
    floating = False
    _released = False
    _hooks = None     # Tensor.register_hook on the output
    _retained = None  # Tensor.retain_grad on the output: a weak reference to it
    _writes = None    # hooks.writes when the node saved its arrays

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
        """Keep arrays for ``backward``; they are freed once backward has run."""
        self.saved_tensors = arrays
        self._writes = hooks.writes

    def name(self):
        """Readable node name, e.g. ``SoftmaxBackward``."""
        return type(self).__name__ + "Backward"

    @property
    def next_functions(self):
        """``((node, 0), ...)``, one pair per forward argument, as in PyTorch."""
        return tuple((p, 0) for p in self._parents)

    def register_hook(self, fn):
        """``fn(grad) -> Tensor | None`` sees dL/d(output) before it flows on;
        a returned tensor replaces it."""
        self._hooks = (self._hooks or []) + [fn]

    def _release(self):
        """Free what forward kept; the node stays, so the graph can still be drawn."""
        kept = {k: v for k, v in vars(self).items() if k in _ENGINE_FIELDS}
        self.__dict__ = dict(kept, _released=True)

    def __repr__(self):
        return f"<{self.name()}>"


_ENGINE_FIELDS = ("_parents", "shape", "dtype", "module_path", "_hooks", "_retained")


def apply(op, args, options):
    """Run ``op`` on tensors and plain values; record a node when a gradient is needed.

    Tensors are unwrapped to their arrays (``hooks.promote`` gives the arguments at
    ``op.promote`` one dtype when they differ); ``options`` go to forward as they are.
    An error of forward is raised again naming the op and the shapes, with numpy's
    error as its cause."""
    ctx = object.__new__(op)
    raw = [a._data if isinstance(a, Tensor) else a for a in args]
    if op.promote and hooks.promote:  # numbers, or arrays of two dtypes: make them one
        dtypes = {v.dtype if type(v) is np.ndarray else None for v in raw}
        if len(dtypes) > 1 or None in dtypes or op.floating and dtypes.pop().kind not in "fc":
            hooks.promote(raw, op.promote, op.floating)
    tracked = [isinstance(a, Tensor) and a._requires_grad for a in args]
    recording = state.grad_enabled and True in tracked
    ctx._parents = [(a.grad_fn or leaf_node(a)) if recording and t else None
                    for a, t in zip(args, tracked)]
    try:
        if state.quiet:  # inside a Module's forward or a backward: already silenced
            out = ctx.forward(*raw, **options)
        else:
            with silenced():
                out = ctx.forward(*raw, **options)
    except (ValueError, IndexError, TypeError) as error:
        raise _explain(op, args, error) from error
    out, *extras = out if type(out) is tuple else (out,)  # extras: values to look at
    if recording:
        ctx.shape, ctx.dtype, ctx.module_path = out.shape, out.dtype, state.module_path
        # a view of the first input's memory? (compat records writes through views)
        ctx._view = out.base is not None and np.may_share_memory(out, raw[0])
    result = Tensor._make(out, ctx if recording else None)
    return (result, *[Tensor._make(e, None) for e in extras]) if extras else result


def _explain(op, args, error):
    """The same kind of error, saying which op failed and on which shapes."""
    shapes = ", ".join(str(tuple(a.shape)) if isinstance(a, Tensor) else
                       f"array(shape={a.shape}, dtype={a.dtype})" if isinstance(a, np.ndarray)
                       else repr(a) for a in args)
    message = f"{op.__name__}({shapes}): {error}"
    if type(error) is ValueError:  # numpy's word for shapes that do not fit
        return ShapeError(message)
    try:
        return type(error)(message)
    except Exception:  # an exception type with a different constructor
        return ValueError(message)


class AccumulateGrad(Function):
    """The graph node of a leaf tensor: its backward adds the gradient into ``.grad``.

    It refers to its tensor weakly (the tensor holds it strongly), so a leaf and
    its node form no reference cycle and are freed as soon as the leaf is.
    """

    _parents = ()
    module_path = ""

    def __init__(self, tensor):
        self._tensor = weakref.ref(tensor)
        self.shape, self.dtype = tensor._data.shape, tensor._data.dtype

    @property
    def variable(self):
        """The leaf tensor this node accumulates into (None once it is freed)."""
        return self._tensor()

    def name(self):
        return "AccumulateGrad"

    def backward(self, grad):
        tensor = self._tensor()
        if tensor is not None:
            if grad.shape != tensor._data.shape:
                raise RuntimeError(
                    f"a leaf of shape {tensor._data.shape} had shape {grad.shape} when the "
                    "graph was recorded (its .data was replaced since): run the forward pass "
                    "again")
            store_grad(tensor, grad)
        return ()

    def _release(self):
        """Nothing to free: the node of a leaf keeps no arrays."""


def store_grad(tensor, grad):
    """Add ``grad`` into ``tensor.grad``, a Tensor (no graph) of the tensor's dtype.

    The first gradient is copied (a backward may hand one array to two inputs, and
    optimisers update ``.grad`` in place); later ones are added in place, as PyTorch."""
    if tensor._grad is None:
        tensor._grad = Tensor._make(np.array(grad, dtype=tensor._data.dtype, copy=True), None)
    else:
        tensor._grad._data += grad


def leaf_node(tensor):
    """The AccumulateGrad node of a leaf tensor, made on first use and reused."""
    node = tensor._grad_accumulator
    if node is None or node.shape != tensor._data.shape or node.dtype != tensor._data.dtype:
        kept = None if node is None else node._hooks  # .data replaced: the hooks stay
        node = tensor._grad_accumulator = AccumulateGrad(tensor)
        node._hooks = kept
    return node


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of numpy broadcasting, which repeats
    an input along new leading axes and along its axes of size 1."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes).reshape(shape) if axes else grad.reshape(shape)


def run_hooks(hooks_, grad):
    """Apply gradient hooks in order; a hook that returns a tensor (of the gradient's
    shape and dtype, as PyTorch checks) replaces the gradient."""
    for hook in hooks_:
        result = hook(Tensor._make(grad, None))
        if result is None:
            continue
        name = getattr(hook, "__name__", repr(hook))
        if not isinstance(result, Tensor):
            raise TypeError(f"expected a Tensor or None, but hook '{name}' returned "
                            f"'{type(result).__name__}'")
        if result.shape != grad.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value: the gradient "
                               f"has shape {grad.shape}, the hook returned {result.shape}")
        if result.dtype != grad.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was "
                               f"{grad.dtype} got {result.dtype})")
        grad = result._data
    return grad


# -- the walk back -----------------------------------------------------------

def topological_order(root):
    """The nodes below ``root``, each before every node it sends a gradient to: a
    depth-first walk with an explicit stack (no recursion, so any depth goes)."""
    order, seen, stack = [], {root}, [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append((parent, iter(parent._parents)))
                break
        else:  # every parent placed: the node goes after them
            stack.pop()
            order.append(node)
    return reversed(order)


def run_backward(root, grad, retain_graph=False):
    """Backpropagate ``grad`` (dL/d output of ``root``) through the graph below ``root``:
    each node runs once every gradient sent to it has been added up."""
    grads = {root: grad}
    for node in topological_order(root):
        grad = grads.pop(node, None)
        if grad is not None:  # else no gradient reached it: it has none to pass on
            for parent, g in zip(node._parents, _node_backward(node, grad)):
                if parent is not None and g is not None:
                    if g.shape != parent.shape:
                        g = unbroadcast(g, parent.shape)
                    if g.dtype != parent.dtype:  # the input was promoted: float32 + float64
                        g = g.astype(parent.dtype)
                    grads[parent] = grads[parent] + g if parent in grads else g
        if not retain_graph:
            node._release()


def _node_backward(node, grad):
    """Run one node's hooks and backward on dL/d(its output); one gradient per input."""
    if node._released:
        raise RuntimeError(
            f"Trying to backward through {node.name()} a second time, but the values "
            "it saved were freed by the first backward. Pass retain_graph=True to the "
            "first backward() to backpropagate through the same graph again.")
    if node._writes is not None and node._writes != hooks.writes and hooks.on_backward:
        hooks.on_backward(node)  # something was written in place since the node saved
    if node._hooks:
        grad = run_hooks(node._hooks, grad)
    if node._retained is not None and node._retained() is not None:
        store_grad(node._retained(), grad)
    input_grads = node.backward(grad)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    if len(input_grads) < len(node._parents):  # more: arguments left to their defaults
        raise RuntimeError(
            f"{node.name()} returned {len(input_grads)} gradient(s) but its forward took "
            f"{len(node._parents)} argument(s): backward must return one per argument "
            "(None for those that take no gradient)")
    return input_grads


# -- numpy's floating-point warnings -----------------------------------------

_QUIET = _make_extobj(all="ignore")


class silenced:
    """``with silenced():`` numpy's floating-point warnings off inside, as PyTorch is
    silent about inf and nan (``log(0)``, ``0 / 0``). Entered once per outermost
    apply, Module call or backward, it sets numpy's error-state context variable
    directly: ``np.errstate`` per op costs more (benchmarks/errstate_cost.py)."""

    __slots__ = ("_outer", "_token")

    def __enter__(self):
        self._outer, state.quiet = state.quiet, True
        self._token = _numpy_errors.set(_QUIET)

    def __exit__(self, *exc):
        _numpy_errors.reset(self._token)
        state.quiet = self._outer


# -- arguments and arrays ----------------------------------------------------

def sizes(size):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike, as PyTorch does (also for
    reshape, permute and expand)."""
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def to_axis(dim, shape, op=None):
    """``dim`` as an axis in [0, len(shape)), negatives counting from the end, checked as
    PyTorch checks it (a 0-d tensor takes 0 and -1)."""
    where = f"{op}(): " if op else ""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{where}argument 'dim' must be int, not {type(dim).__name__}")
    size = max(len(shape), 1)
    if not -size <= dim < size:
        raise IndexError(f"{where}dim {dim} is out of range for a tensor of shape "
                         f"{tuple(shape)} (expected a dim in [{-size}, {size - 1}])")
    return int(dim) % size


def unwrap(x):
    """The ndarray behind a tensor (shared); anything else as an ndarray (not copied)."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def working(a):
    """``a`` in the precision the fused ops compute in: float16 as float32 (numpy's
    float16 sums overflow and lose digits where float32 is right); else ``a`` itself."""
    return a.astype(np.float32) if a is not None and a.dtype == np.float16 else a
