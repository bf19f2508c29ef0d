"""Activation layers: ReLU and GELU as modules, for Sequential and FFN blocks."""
from .. import functional as F
from .module import Module


class ReLU(Module):
    """y = max(x, 0); ``inplace=True`` overwrites x (``x.relu_()``), as PyTorch."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return x.relu_() if self.inplace else F.relu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    """y = x * Phi(x), Phi the standard normal CDF (``approximate='none'``), or its
    tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (``'tanh'``)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"
