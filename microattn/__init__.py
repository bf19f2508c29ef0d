"""microattn: a reverse-mode autograd engine on numpy, and a transformer built on it.

    import microattn as ma
    from microattn import nn, optim, functional as F
"""
import sys

from .core import (Function, Tensor, enable_grad, get_default_dtype, is_grad_enabled,
                   manual_seed, no_grad, ones, randn, set_default_dtype, tensor, zeros)
from .ops import (abs, add, cat, div, exp, log, matmul, mul, neg, pow, relu, sigmoid,
                  sqrt, stack, sub, tanh, where)
from .fused import softmax
from .threads import get_num_threads, set_num_threads
from . import functional, models, nn, optim
from . import compat
from .compat import cuda, names as torch_names
from . import utils
from .compat.names import *  # noqa: F401,F403  (dtypes, devices, constructors, function forms)
from .compat.alias import install_as_torch
from .compat import activations as _activations, packed_attention as _packed_attention
from .compat.index_writes import index_fill, masked_scatter
from .compat.meshgrid import meshgrid
from .compat.tensor_types import *  # noqa: F401,F403 (LongTensor, FloatTensor, ...)
from .compat import tensor_types as _tensor_types
from .gradcheck import GradcheckError, gradcheck
from .serialization import SerializationError, load, save

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "tensor", "zeros", "ones", "full", "zeros_like", "ones_like",
    "randn", "rand", "randint", "arange", "cat", "stack", "where", "manual_seed",
    "abs", "add", "div", "exp", "log", "matmul", "mul", "neg", "pow", "relu", "sigmoid",
    "softmax", "sqrt", "sub", "tanh", "set_num_threads", "get_num_threads",
    "no_grad", "enable_grad", "is_grad_enabled", "set_default_dtype", "get_default_dtype",
    "gradcheck", "GradcheckError", "save", "load", "SerializationError",
    "functional", "models", "nn", "optim", "cuda", "utils", "install_as_torch",
    *torch_names.__all__, "index_fill", "masked_scatter", "meshgrid", *_tensor_types.__all__,
]
_activations.register()      # F.celu, nn.CELU, ...: PyTorch's extra activations
_packed_attention.register()  # MultiheadAttention loads PyTorch's in_proj_weight
__all__ = list(dict.fromkeys(__all__))  # torch_names re-exports some names above

sys.modules[__name__ + ".cuda"] = cuda  # ``microattn.cuda`` is ``torch.cuda``
