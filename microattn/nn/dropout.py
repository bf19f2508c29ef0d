"""Dropout: zero random activations while training, to regularise."""
from .. import functional as F
from ..ops.dropout import check_probability
from .module import Module


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by
    1 / (1 - p), so the expected value is unchanged; in eval mode, the identity."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p = check_probability(p)
        self.inplace = inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
