"""ShapeError: the one exception for shapes that do not fit.

PyTorch raises RuntimeError where shapes do not fit; numpy, and this
library before it followed PyTorch, raise ValueError. ShapeError is
both, so ``except RuntimeError`` written for PyTorch and ``except
ValueError`` written for numpy each catch it; the message names the op and
the shapes.
"""


class ShapeError(RuntimeError, ValueError):
    """Operands whose shapes do not fit (a RuntimeError, as PyTorch's, and a ValueError)."""
