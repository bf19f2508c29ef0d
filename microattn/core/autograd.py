"""Function, the node an op leaves in the graph, and the engine that walks the graph back.

An op is a subclass with ``forward(ctx, *args)`` and ``backward(ctx, grad)``,
both on numpy arrays. ``ctx`` *is* the graph node: ``Op.apply`` makes an
instance, ``forward`` keeps on it what ``backward`` will need, and the output
tensor holds it as ``grad_fn``. ``run_backward`` visits the nodes in
topological order, calls each ``backward`` and adds up the gradients.
"""
import weakref

import numpy as np

from . import hooks
from .errors import ShapeError
from .grad_mode import silenced, state
from .tensor import Tensor


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
    _writes = None  # hooks.writes when the node saved its arrays
    _view = False   # the output is a view of the first input's memory

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
        self.__dict__.clear()
        self.__dict__.update(kept, _released=True)

    def __repr__(self):
        return f"<{self.name()}>"


_ENGINE_FIELDS = ("_parents", "shape", "dtype", "module_path", "_hooks", "_retained")


def apply(op, args, options):
    """Run ``op`` on tensors and plain values; record a node when a gradient is needed.

    Tensors among ``args`` are unwrapped to their arrays; when the arguments at
    ``op.promote`` are not already arrays of one dtype, ``hooks.promote`` makes
    them one; forward runs on plain numpy. ``options`` (keyword arguments: dims,
    flags) go to forward as they are. An error of forward is raised again naming
    the op and the shapes, with numpy's error as its cause.
    """
    ctx = object.__new__(op)
    raw = [a._data if isinstance(a, Tensor) else a for a in args]
    if op.promote and hooks.promote:  # numbers, or arrays of two dtypes: make them one
        dtypes = {v.dtype if type(v) is np.ndarray else None for v in raw}
        if len(dtypes) > 1 or None in dtypes or op.floating and dtypes.pop().kind not in "fc":
            hooks.promote(raw, op.promote, op.floating)
    recording = state.grad_enabled and any(isinstance(a, Tensor) and a._requires_grad
                                           for a in args)
    ctx._parents = [(a.grad_fn or leaf_node(a)) if recording and isinstance(a, Tensor)
                    and a._requires_grad else None for a in args]
    try:
        if state.quiet:  # inside a Module's forward or a backward: already silenced
            out = ctx.forward(*raw, **options)
        else:
            with silenced():
                out = ctx.forward(*raw, **options)
    except (ValueError, IndexError, TypeError) as error:
        raise _explain(op, args, error) from error
    extras = ()
    if type(out) is tuple:  # (output, values for inspection, which take no gradient)
        out, *extras = out
        extras = tuple(Tensor._make(e, None) for e in extras)
    if recording:
        ctx.shape, ctx.dtype, ctx.module_path = out.shape, out.dtype, state.module_path
        ctx._hooks = ctx._retained = None  # Tensor.register_hook, retain_grad
        ctx._view = (out.base is not None and type(raw[0]) is np.ndarray  # for compat's
                     and np.may_share_memory(out, raw[0]))  # writes through a view
    result = Tensor._make(out, ctx if recording else None)
    return (result, *extras) if extras else result


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


class AccumulateGrad:
    """The graph node of a leaf tensor: adds the gradient it receives into ``.grad``.

    It refers to its tensor weakly (the tensor holds it strongly), so a leaf and
    its node form no reference cycle and are freed as soon as the leaf is.
    """

    __slots__ = ("_tensor", "shape", "dtype", "__weakref__")
    _parents = next_functions = ()
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

    def accumulate(self, grad):
        tensor = self._tensor()
        if tensor is None:
            return
        if grad.shape != tensor._data.shape:
            raise RuntimeError(
                f"a leaf of shape {tensor._data.shape} had shape {grad.shape} when the graph "
                "was recorded (its .data was replaced since): run the forward pass again")
        store_grad(tensor, run_hooks(tensor._hooks, grad) if tensor._hooks else grad)

    def __repr__(self):
        return "<AccumulateGrad>"


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
        node = tensor._grad_accumulator = AccumulateGrad(tensor)  # new, or .data replaced
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
        if type(node) is AccumulateGrad:
            if grad is not None:
                node.accumulate(grad)
            continue
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
