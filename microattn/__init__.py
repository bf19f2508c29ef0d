"""microattn: a reverse-mode autograd engine on numpy, and a transformer built on it."""
from .autograd import (Function, Tensor, arange, enable_grad, full, get_default_dtype,
                       is_grad_enabled, manual_seed, no_grad, ones, ones_like, rand, randint,
                       randn, set_default_dtype, tensor, zeros, zeros_like)
from .ops import cat, stack, where
from . import functional, nn  # noqa: E402

__version__ = "0.1.0"
from .gradcheck import GradcheckError, gradcheck
from . import optim
from .serialization import SerializationError, load, save
