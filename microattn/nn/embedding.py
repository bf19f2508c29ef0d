"""Embedding: a lookup table of learned vectors, one row per token id."""
import numpy as np

from .. import functional as F
from ..core import get_default_dtype
from ..core.dtype import as_dtype, check_device
from . import init
from .module import Module, Parameter, check_sizes


class Embedding(Module):
    """forward(idx) = weight[idx]: integer ids of any shape (...) -> (..., embedding_dim).

    ``weight`` is (num_embeddings, embedding_dim), initialised N(0, 1) as in
    PyTorch. With ``padding_idx`` that row starts at zero and never receives a
    gradient, so it stays zero (padding positions contribute nothing).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        check_device(device, "Embedding")
        check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx {padding_idx} must be within num_embeddings "
                                 f"({num_embeddings})")
            padding_idx %= num_embeddings  # a negative index counts from the end, as PyTorch
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim),
                                         dtype=as_dtype(dtype) or get_default_dtype()))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, idx):
        return F.embedding(idx, self.weight, padding_idx=self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
