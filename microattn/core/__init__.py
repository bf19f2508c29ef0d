"""The core: Tensor, Function, the backward engine, grad mode (numpy only, no ops)."""
from .dtype import get_default_dtype, set_default_dtype
from .factories import ones, randn, zeros
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .random import manual_seed
from .tensor import Function, Tensor, tensor

__all__ = ["Tensor", "Function", "tensor", "no_grad", "enable_grad", "is_grad_enabled",
           "set_default_dtype", "get_default_dtype", "manual_seed", "zeros", "ones", "randn"]
