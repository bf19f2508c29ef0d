"""ShapeError: the one exception for shapes that do not fit."""


class ShapeError(RuntimeError, ValueError):
    """Operands whose shapes do not fit: a RuntimeError, as PyTorch raises, and a ValueError,
    as numpy raises, so that either ``except`` catches it; the message names the op and
    the shapes."""
