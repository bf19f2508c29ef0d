"""The backward engine: leaf accumulators, un-broadcasting, and the graph walk."""
import weakref

import numpy as np

from . import version
from .tensor import Tensor


class AccumulateGrad:
    """The graph node of a leaf tensor: adds the gradient it receives into ``.grad``.

    It refers to its tensor weakly (the tensor holds it strongly), so a leaf and
    its node form no reference cycle and are freed as soon as the leaf is.
    """

    __slots__ = ("_tensor", "shape", "dtype", "__weakref__")
    _parents = ()
    next_functions = ()
    module_path = ""

    def __init__(self, tensor):
        self._tensor = weakref.ref(tensor)
        self.shape = tensor.data.shape
        self.dtype = tensor.data.dtype

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
        if grad.shape != tensor.data.shape:
            raise RuntimeError(
                f"a leaf of shape {tensor.data.shape} had shape {grad.shape} when the graph was "
                "recorded (its .data was replaced since): run the forward pass again")
        if tensor._hooks:
            grad = run_hooks(tensor._hooks, grad)
        store_grad(tensor, grad)

    def __repr__(self):
        return "<AccumulateGrad>"


def store_grad(tensor, grad):
    """Add ``grad`` into ``tensor.grad``, a Tensor (no graph) of the tensor's dtype.

    The first gradient is copied: a backward may hand one array to two inputs
    (or return a read-only broadcast view), and optimisers and clipping update
    ``.grad`` in place. Later ones are added in place, as in PyTorch.
    """
    if tensor._grad is None:
        tensor._grad = Tensor._make(np.array(grad, dtype=tensor.data.dtype, copy=True), None)
    else:
        tensor._grad.data += grad


def leaf_node(tensor):
    """The AccumulateGrad node of a leaf tensor, made on first use and reused."""
    node = tensor._grad_accumulator
    if node is None or node.shape != tensor.data.shape or node.dtype != tensor.data.dtype:
        # new, or .data was replaced
        node = tensor._grad_accumulator = AccumulateGrad(tensor)
    return node


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of numpy broadcasting.

    Broadcasting repeats an input along new leading axes and along its axes of
    size 1, so the input's gradient is the sum over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def run_hooks(hooks, grad):
    """Apply gradient hooks in order; a hook that returns a tensor replaces the gradient.

    The replacement must be a tensor of the gradient's shape and dtype, as in
    PyTorch: anything else would be broadcast, summed down or cast unnoticed.
    """
    for hook in hooks:
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
        grad = result.data
    return grad


def run_backward(root, grad, retain_graph=False):
    """Backpropagate ``grad`` (dL/d output of ``root``) through the graph below ``root``.

    Nodes run in topological order, by Kahn's algorithm: first count, for each
    node, how many nodes above it will send it a gradient; then run a node only
    when that count reaches zero, so the gradients arriving along every path
    have been summed. Explicit stacks instead of recursion let a graph of any
    depth through.
    """
    dependencies = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node._parents:
            if parent is None:
                continue
            if parent in dependencies:
                dependencies[parent] += 1
            else:
                dependencies[parent] = 1
                stack.append(parent)

    pending = {root: grad}
    ready = [root]
    while ready:
        node = ready.pop()
        grad = pending.pop(node, None)
        if type(node) is AccumulateGrad:
            if grad is not None:
                node.accumulate(grad)
            continue
        # A node no gradient reached (its users' backwards all returned None)
        # passes none on, but still counts as done for the nodes below it.
        input_grads = (None,) * len(node._parents) if grad is None else _node_backward(node, grad)
        for parent, g in zip(node._parents, input_grads):
            if parent is None:
                continue
            if g is not None:
                if g.shape != parent.shape:
                    g = unbroadcast(g, parent.shape)
                if g.dtype != parent.dtype:  # the input was promoted: float32 + float64
                    g = g.astype(parent.dtype)
                pending[parent] = pending[parent] + g if parent in pending else g
            remaining = dependencies[parent] - 1
            dependencies[parent] = remaining
            if remaining == 0:
                ready.append(parent)
        if not retain_graph:
            node._release()


def _node_backward(node, grad):
    """Run one node's hooks and backward on dL/d(its output); one gradient per input."""
    if node._released:
        raise RuntimeError(
            f"Trying to backward through {node.name()} a second time, but the values "
            "it saved were freed by the first backward. Pass retain_graph=True to the "
            "first backward() to backpropagate through the same graph again.")
    saved = node.__dict__.get("_saved_versions")
    if saved:
        version.check(node.name() + "0", saved)
    if node._hooks:
        grad = run_hooks(node._hooks, grad)
    if node._retained is not None:
        tensor = node._retained()
        if tensor is not None:
            store_grad(tensor, grad)
    input_grads = node.backward(grad)
    if input_grads.__class__ is not tuple:
        input_grads = (input_grads,)
    if len(input_grads) < len(node._parents):  # more: arguments left to their defaults
        raise RuntimeError(
            f"{node.name()} returned {len(input_grads)} gradient(s) but its forward took "
            f"{len(node._parents)} argument(s): backward must return one per argument "
            "(None for those that take no gradient)")
    return input_grads
