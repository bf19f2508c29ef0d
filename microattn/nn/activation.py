"""Activation layers: ReLU, GELU, and PyTorch's other activation and softmax modules."""
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


def _module(name, fn, doc, **defaults):
    """A module class whose forward is ``fn(x, **options)``, options from __init__."""
    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        options = dict(zip(defaults, args))
        options.update(kwargs)
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"{name}() got unexpected arguments {sorted(unknown)}")
        self.options = {**defaults, **options}
        for key, value in self.options.items():
            object.__setattr__(self, key, value)

    def forward(self, input):
        return fn(input, **self.options)

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.options.items()
                         if not (k == "inplace" and not v))

    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__doc__": doc,
                                  "__module__": __name__})


Softmax = _module("Softmax", lambda x, dim: F.softmax(x, dim), "softmax along dim.", dim=None)
LogSoftmax = _module("LogSoftmax", lambda x, dim: F.log_softmax(x, dim),
                     "log_softmax along dim.", dim=None)
Tanh = _module("Tanh", lambda x: x.tanh(), "y = tanh x.")
Sigmoid = _module("Sigmoid", lambda x: x.sigmoid(), "y = 1 / (1 + e^-x).")
SiLU = _module("SiLU", F.silu, "y = x sigmoid(x).", inplace=False)
LeakyReLU = _module("LeakyReLU", F.leaky_relu, "y = x if x > 0 else slope x.",
                    negative_slope=0.01, inplace=False)
ELU = _module("ELU", F.elu, "y = x if x > 0 else alpha (e^x - 1).", alpha=1.0, inplace=False)
Softplus = _module("Softplus", F.softplus, "y = log(1 + e^(beta x)) / beta.", beta=1.0,
                   threshold=20.0)
