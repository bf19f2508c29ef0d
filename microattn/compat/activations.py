"""More of PyTorch's activations, composed from ops that have their backward:
celu, selu, softsign, hardtanh, relu6, hardsigmoid, hardswish, mish, in
``microattn.functional`` and as ``microattn.nn`` modules (CELU, SELU, ...).

The piecewise ones are ``where`` over their pieces, with the comparisons
chosen so that the gradient at a kink is PyTorch's (hardtanh passes none at
its bounds; hardswish has 0 at -3 and 1 at 3).
"""
from .. import functional as F
from .. import nn
from ..nn.activation import _module
from ..ops import where
from .inplace import write

# SELU's constants, from "Self-Normalizing Neural Networks" (as PyTorch's)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _maybe_inplace(name, fn, input, inplace):
    return write(input, name + "_", fn) if inplace else fn(input)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)) = alpha elu(x / alpha)."""
    if alpha == 0:
        raise RuntimeError("celu: alpha must not be 0")
    return _maybe_inplace("celu", lambda x: alpha * F.elu(x / alpha), input, inplace)


def selu(input, inplace=False):
    """scale (max(0, x) + min(0, alpha (e^x - 1))), with SELU_ALPHA and SELU_SCALE."""
    return _maybe_inplace("selu", lambda x: SELU_SCALE * F.elu(x, SELU_ALPHA), input, inplace)


def softsign(input):
    """x / (1 + |x|).   dy/dx = 1 / (1 + |x|)^2"""
    return input / (input.abs() + 1)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val].   dy/dx = 1 strictly inside, else 0"""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")

    def clip(x):
        return where(x <= min_val, float(min_val), where(x >= max_val, float(max_val), x))
    return _maybe_inplace("hardtanh", clip, input, inplace)


def relu6(input, inplace=False):
    """min(max(0, x), 6) = hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input, inplace=False):
    """0 for x <= -3, 1 for x >= 3, x / 6 + 1/2 between."""
    return _maybe_inplace(
        "hardsigmoid", lambda x: where(x <= -3, 0.0, where(x >= 3, 1.0, x / 6 + 0.5)),
        input, inplace)


def hardswish(input, inplace=False):
    """0 for x <= -3, x for x >= 3, x (x + 3) / 6 between."""
    return _maybe_inplace(
        "hardswish", lambda x: where(x <= -3, 0.0, where(x < 3, x * (x + 3) / 6, x)),
        input, inplace)


def mish(input, inplace=False):
    """x tanh(softplus(x))."""
    return _maybe_inplace("mish", lambda x: x * F.softplus(x).tanh(), input, inplace)


FUNCTIONS = {"celu": celu, "selu": selu, "softsign": softsign, "hardtanh": hardtanh,
             "relu6": relu6, "hardsigmoid": hardsigmoid, "hardswish": hardswish, "mish": mish}

MODULES = {
    "CELU": _module("CELU", celu, "y = celu(x, alpha).", alpha=1.0, inplace=False),
    "SELU": _module("SELU", selu, "y = selu(x).", inplace=False),
    "Softsign": _module("Softsign", softsign, "y = x / (1 + |x|)."),
    "Hardtanh": _module("Hardtanh", hardtanh, "y = x clipped to [min_val, max_val].",
                        min_val=-1.0, max_val=1.0, inplace=False),
    "ReLU6": _module("ReLU6", relu6, "y = min(max(0, x), 6).", inplace=False),
    "Hardsigmoid": _module("Hardsigmoid", hardsigmoid, "y = hardsigmoid(x).", inplace=False),
    "Hardswish": _module("Hardswish", hardswish, "y = x hardsigmoid(x).", inplace=False),
    "Mish": _module("Mish", mish, "y = x tanh(softplus(x)).", inplace=False),
}


def register():
    """Put the functions into microattn.functional and the modules into microattn.nn
    (each module's ``__all__`` too), as if defined there."""
    for owner, names in ((F, FUNCTIONS), (nn, MODULES)):
        for name, value in names.items():
            setattr(owner, name, value)
            if name not in owner.__all__:
                owner.__all__.append(name)
