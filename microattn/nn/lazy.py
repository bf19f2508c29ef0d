"""Lazy layers, as ``torch.nn.LazyLinear``: the input size is read from the first call.

``LazyLinear(out_features)`` holds an :class:`UninitializedParameter` until
its first forward; that call gives the weight its shape (out_features,
x.shape[-1]) and PyTorch's Linear initialisation, and the module becomes a
plain :class:`Linear` (the same parameter objects, now with data). As in
PyTorch, run one forward before handing ``parameters()`` to an optimiser. A
state_dict loaded before the first call gives the shapes instead.
"""
import numpy as np

from ..core import get_default_dtype
from ..core.dtype import as_dtype, check_device
from .linear import Linear
from .module import Module, Parameter


class UninitializedParameter(Parameter):
    """A parameter with no shape yet; ``materialize(shape)`` gives it one (zeros)
    and makes it a plain Parameter."""

    __slots__ = ()

    def materialize(self, shape, dtype=None):
        self._data = np.zeros(shape, dtype=as_dtype(dtype) or self.dtype)
        self.__class__ = Parameter


class LazyLinear(Linear):
    """``Linear`` whose ``in_features`` is the last dim of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        check_device(device, "LazyLinear")
        dtype = as_dtype(dtype) or get_default_dtype()
        self.in_features, self.out_features = 0, out_features
        self.weight = UninitializedParameter(np.empty((0,), dtype=dtype))
        if bias:
            self.bias = UninitializedParameter(np.empty((0,), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def has_uninitialized_params(self):
        return isinstance(self.weight, UninitializedParameter)

    def initialize_parameters(self, in_features):
        """Shapes from ``in_features``, values by Linear's init; then a Linear."""
        self.in_features = in_features
        self.weight.materialize((self.out_features, in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()
        self.__class__ = self.cls_to_become

    def forward(self, x):
        self.initialize_parameters(x.shape[-1])
        return self.forward(x)  # Linear's, now

    def reset_parameters(self):
        if not self.has_uninitialized_params():
            Linear.reset_parameters(self)


def _shapes_from_state_dict(module, state_dict, prefix):
    """A state_dict loaded into a LazyLinear that has not run fixes its in_features."""
    weight = state_dict.get(prefix + "weight")
    if isinstance(module, LazyLinear) and weight is not None and len(weight.shape) == 2:
        module.initialize_parameters(weight.shape[1])


LazyLinear._load_state_dict_pre_hooks = (_shapes_from_state_dict,)
