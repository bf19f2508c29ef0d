"""In-place operations: ``add_``, ``zero_``, ``+=``, ``t[i] = v``, ... write into
the tensor's own memory, so every view of it and every name bound to it sees
the new values, as in PyTorch.

Each one is its out-of-place op, computed and then copied into the tensor:

- outside a graph (``no_grad``, or nothing requires grad) that is all;
- when a gradient must flow (the tensor or an operand requires grad), the op
  runs on a copy of the old values, so its node saves arrays that the write
  cannot change, and the tensor takes the op's node as its ``grad_fn``: the
  graph continues from the written tensor, as PyTorch's does; a write through
  a view of a tensor in a graph changes that tensor's graph too
  (compat/view_writes.py, PyTorch's CopySlices).

Every write bumps the memory's version counter (compat/versions.py), so a
node that saved the old values for its backward refuses to run on the new
ones. A leaf that requires grad may be written only under ``no_grad``, as in
PyTorch: otherwise its gradient would be the gradient of values it no longer
holds.
"""
import numpy as np

from ..core import Function, Tensor, no_grad
from ..core import random
from ..core.grad_mode import state
from ..ops import elementwise as ew
from .indexing import IndexPut, index_steps, view_at
from .tensor_data import DataTensor
from .versions import bump
from .view_writes import rebase


def _requires_grad(value):
    return isinstance(value, Tensor) and value._requires_grad


def _check_leaf(tensor, op):
    if tensor._requires_grad and tensor.grad_fn is None and state.grad_enabled:
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad is being used in an in-place "
            "operation. Write it under `with ma.no_grad():` (as optimisers and init do), "
            "or build a new tensor")


def _store(tensor, result, op):
    """Copy ``result`` (a Tensor) into ``tensor``'s memory, by PyTorch's casting rule."""
    if result.shape != tensor.shape:
        raise RuntimeError(f"{op}: output with shape {tuple(tensor.shape)} doesn't match the "
                           f"broadcast shape {tuple(result.shape)}")
    if not np.can_cast(result.dtype, tensor.dtype, casting="same_kind"):
        raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired "
                           f"output type {tensor.dtype}")
    try:
        np.copyto(tensor._data, result._data, casting="unsafe")
    except ValueError as error:  # a read-only array, e.g. a view made by expand()
        raise RuntimeError(f"{op}: cannot write into this tensor in place ({error}); "
                           "clone() it first") from None
    if type(tensor) is not DataTensor:  # writes through .data bypass autograd
        bump(tensor._data, op)


def write(tensor, op, compute, *args):
    """``tensor`` <- ``compute(tensor, *args)``, in place; returns ``tensor``."""
    _check_leaf(tensor, op)
    if not (state.grad_enabled and (tensor._requires_grad or any(map(_requires_grad, args)))):
        with no_grad():
            result = compute(tensor, *args)
        _store(tensor, result, op)
        return tensor

    def store(result):
        if result.dtype != tensor.dtype and result.requires_grad:
            result = ew.Cast.apply(result, tensor.dtype) if tensor.dtype.kind == "f" else result
        _store(tensor, result, op)
        return result

    # Through a view of a tensor in a graph: the base's graph records the write.
    if tensor._data.flags.writeable and rebase(tensor, op, compute, args, store):
        return tensor
    # The op reads a private copy of the old values, joined to the graph where the
    # tensor was; an operand that is the tensor itself reads that copy too.
    old = Tensor._make(tensor._data.copy(), tensor.grad_fn)
    old._requires_grad = tensor._requires_grad
    result = store(compute(old, *tuple(old if a is tensor else a for a in args)))
    tensor.grad_fn = result.grad_fn
    tensor._requires_grad = result._requires_grad
    return tensor


class Fill(Function):
    """z = value everywhere (value a number, an array broadcasting to x's shape, or a
    0-d tensor).   dL/dx = 0,  dL/dvalue = sum of g"""

    def forward(ctx, x, value):
        return np.array(np.broadcast_to(value, x.shape), dtype=x.dtype)

    def backward(ctx, g):
        return (np.zeros_like(g) if ctx.needs_input_grad[0] else None), g


# -- the in-place methods ----------------------------------------------------------

def _scaled(other, alpha):
    return other if alpha == 1 else ew.Mul.apply(other, alpha)


def add_(self, other, alpha=1):
    return write(self, "add_", lambda x, o: ew.Add.apply(x, _scaled(o, alpha)), other)


def sub_(self, other, alpha=1):
    return write(self, "sub_", lambda x, o: ew.Sub.apply(x, _scaled(o, alpha)), other)


def mul_(self, other):
    return write(self, "mul_", ew.Mul.apply, other)


def div_(self, other):
    return write(self, "div_", ew.Div.apply, other)


def pow_(self, exponent):
    return write(self, "pow_", ew.Pow.apply, exponent)


def fill_(self, value):
    return write(self, "fill_", Fill.apply, value)


def zero_(self):
    return write(self, "zero_", Fill.apply, 0)


def copy_(self, src):
    """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor."""
    return write(self, "copy_", Fill.apply, src)


def masked_fill_(self, mask, value):
    return write(self, "masked_fill_", ew.MaskedFill.apply, mask, value)


def clamp_(self, min=None, max=None):
    from .pointwise import clamp
    return write(self, "clamp_", lambda x: clamp(x, min, max))


def normal_(self, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std^2), from the generator ``manual_seed`` sets."""
    sample = random.generator(generator).normal(mean, std, self.shape)
    return write(self, "normal_", Fill.apply, sample)


def uniform_(self, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b), from the generator ``manual_seed`` sets."""
    sample = random.generator(generator).uniform(a, b, self.shape)
    return write(self, "uniform_", Fill.apply, sample)


def _unary_(name, fn):
    def method(self):
        return write(self, name, fn)
    method.__name__ = name
    return method


def setitem(self, index, value):
    """``self[index] = value``: the tensor's memory is written (PyTorch's indexing rule)."""
    steps = index_steps(index)
    if isinstance(value, Tensor) and not value._requires_grad:
        value = value._data
    if not (state.grad_enabled and (self._requires_grad or _requires_grad(value))):
        target, last = view_at(self._data, steps)
        try:
            target[last] = value._data if isinstance(value, Tensor) else value
        except ValueError as error:
            raise RuntimeError(f"__setitem__: {error}") from None
        if type(self) is not DataTensor:
            bump(self._data, "__setitem__")
        return
    write(self, "__setitem__", lambda x, v: IndexPut.apply(x, v, steps), value)


def _augmented(name, fn):
    """``t += o`` and its kin: the in-place op."""
    def operator(self, other):
        return write(self, name, fn, other)
    operator.__name__ = name
    return operator


INPLACE_METHODS = {
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "pow_": pow_,
    "fill_": fill_, "zero_": zero_, "copy_": copy_, "masked_fill_": masked_fill_,
    "clamp_": clamp_, "clip_": clamp_, "normal_": normal_, "uniform_": uniform_,
    "exp_": _unary_("exp_", ew.Exp.apply), "log_": _unary_("log_", ew.Log.apply),
    "sqrt_": _unary_("sqrt_", ew.Sqrt.apply), "neg_": _unary_("neg_", ew.Neg.apply),
    "abs_": _unary_("abs_", ew.Abs.apply), "tanh_": _unary_("tanh_", ew.Tanh.apply),
    "sigmoid_": _unary_("sigmoid_", ew.Sigmoid.apply),
    "relu_": _unary_("relu_", ew.ReLU.apply),
    "__setitem__": setitem,
    "__iadd__": _augmented("__iadd__", ew.Add.apply),
    "__isub__": _augmented("__isub__", ew.Sub.apply),
    "__imul__": _augmented("__imul__", ew.Mul.apply),
    "__itruediv__": _augmented("__itruediv__", ew.Div.apply),
    "__ipow__": _augmented("__ipow__", ew.Pow.apply),
}
