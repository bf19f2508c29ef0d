"""Tensor: an ndarray, the gradient that flows back to it, and the node that made it.

The operators and methods that compute (``+``, ``@``, ``sum``, ``softmax``, ...)
are Functions from ``microattn.ops``; ops binds them onto this class when it is
imported, so that this, the lowest layer, imports nothing above it.
"""
import weakref

import numpy as np

from . import hooks
from .grad_mode import silenced

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype):
    """Set the floating dtype that Python floats become (float32 unless changed)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype expects a floating dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype():
    """The floating dtype that Python floats become: float32 unless set."""
    return _default_dtype


def as_array(data, dtype=None):
    """An ndarray from ``data``, by the pinned rules: Python floats take the default
    dtype, numpy arrays keep theirs, Python ints give int64 and bools give bool."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return np.array(data, dtype=as_dtype(dtype))
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    array = np.array(data)
    if array.dtype.kind == "f":
        return array.astype(_default_dtype, copy=False)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind not in "b":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} data "
                        f"(numpy made dtype {array.dtype}); expected numbers or bools")
    return array


def as_dtype(dtype):
    """A numpy dtype from a dtype object, a numpy type or name ("int64"); None stays None."""
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype: use ma.float32, ma.int64, ma.bool, ...") \
            from None


def check_device(where, op="to"):
    """Refuse a device other than the CPU (None means the CPU). compat's hook reads
    PyTorch's device objects; without it only "cpu" is known."""
    if hooks.check_device is not None:
        return hooks.check_device(where, op)
    if where not in (None, "cpu"):
        raise RuntimeError(f"{op}: device {where!r} is not available: microattn runs on the "
                           "CPU only (numpy); use 'cpu'")


def sizes(size):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike, as PyTorch does (also for
    reshape, permute and expand)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def unwrap(x):
    """The ndarray behind a tensor (shared); anything else as an ndarray (not copied)."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _check_differentiable(dtype):
    if np.dtype(dtype).kind not in "fc":
        raise RuntimeError(f"only floating-point tensors can require gradients, not {dtype} "
                           "(convert it first, e.g. with .float())")


class Tensor:
    """An n-dimensional array that records how it was computed, so gradients
    can flow back through it.

    ``Tensor(data, requires_grad=False, dtype=None)`` follows the dtype rules of
    :func:`microattn.tensor`.
    """

    __slots__ = ("_data", "_grad", "_requires_grad", "grad_fn", "_hooks",
                 "_grad_accumulator", "__weakref__")
    # numpy defers to our reflected operators (``array + tensor`` is a Tensor), and
    # its functions read a tensor as its array (``np.isfinite(t.grad)``), as with PyTorch.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        self._data = as_array(data, dtype)
        self._grad = None
        self.grad_fn = None
        self._hooks = None
        self._grad_accumulator = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data, grad_fn):
        """Wrap an op's result (the fast path every op goes through)."""
        t = object.__new__(cls)
        t._data = data if type(data) is np.ndarray else np.asarray(data)
        t._grad = t._hooks = t._grad_accumulator = None
        t.grad_fn, t._requires_grad = grad_fn, grad_fn is not None
        return t

    # -- data and gradient ---------------------------------------------------
    @property
    def data(self):
        """This tensor's values as a Tensor sharing its memory, cut from the graph, as
        PyTorch's ``.data`` (``x.data.clone()``, ``p.grad.data.zero_()``); writes
        through it reach this tensor and are recorded in no graph, nor counted by
        the version counter (as in PyTorch, they bypass autograd). The ndarray
        itself is ``.numpy()``."""
        return DataTensor._make(self._data, None)

    @data.setter
    def data(self, value):
        """Replace the values by a tensor's (or an ndarray), of any shape, as PyTorch's
        ``.data =``; a tensor that requires grad keeps a floating dtype."""
        if isinstance(value, Tensor):
            value = value._data
        elif not isinstance(value, np.ndarray):
            raise TypeError(f"Tensor.data must be set to a tensor or an ndarray, not "
                            f"{type(value).__name__} (convert it first, e.g. with ma.tensor)")
        if self._requires_grad and value.dtype.kind not in "fc":
            raise RuntimeError(f"data set to a tensor that requires gradients must be floating "
                               f"point, got dtype {value.dtype}")
        self._data = value

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

    # -- autograd state ----------------------------------------------------
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
        if flag:
            _check_differentiable(self._data.dtype)
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        """True for tensors no recorded op produced (made by the user, or not
        requiring grad). Only leaves keep ``.grad`` unless ``retain_grad()``."""
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
        from .autograd import leaf_node, run_backward  # the engine builds on Tensor

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
            grad = np.ones(self._data.shape, self._data.dtype)
        else:
            grad = np.asarray(gradient._data if isinstance(gradient, Tensor) else gradient,
                              dtype=self._data.dtype)
            if grad.shape != self._data.shape:
                raise RuntimeError(f"backward(): gradient has shape {grad.shape}, "
                                   f"but the tensor has shape {self.shape}")
        root = self.grad_fn if self.grad_fn is not None else leaf_node(self)
        with silenced():  # numpy's inf/nan warnings off, once for the whole backward
            run_backward(root, grad, retain_graph=retain_graph)

    def register_hook(self, fn):
        """Call ``fn(grad)`` with this tensor's gradient during backward; if it
        returns a tensor (of the gradient's shape and dtype, as PyTorch checks),
        that replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.register_hook(fn)
            hooks = self.grad_fn._hooks
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(fn)
            hooks = self._hooks
        return _HookHandle(hooks, fn)

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
        copy = Tensor._make(self._data.copy(), None)
        copy.__class__ = type(self)
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
    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """Make a leaf tensor from a number, (nested) list, ndarray or tensor (copied);
    ``device`` can only be the CPU."""
    check_device(device, "tensor")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


class DataTensor(Tensor):
    """What ``.data`` returns: a Tensor whose in-place writes bump no version counter."""

    __slots__ = ()
