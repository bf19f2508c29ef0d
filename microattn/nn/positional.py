"""Position information for attention, which by itself ignores order:
the fixed sinusoids of "Attention Is All You Need", or learned vectors."""
import math

import numpy as np

from ..core import Tensor, get_default_dtype
from ..core.errors import ShapeError
from . import init
from .dropout import Dropout
from .module import Module, Parameter


def sinusoidal_table(max_len, d_model):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)),
    an ndarray (max_len, d_model) in float64.

    Each pair of columns is a rotation at its own frequency, so PE[pos + k] is a
    fixed linear function of PE[pos]: relative offsets are easy to attend to.
    """
    position = np.arange(max_len, dtype=np.float64)[:, None]
    inv_wavelength = np.exp(-math.log(10000.0) * np.arange(0, d_model, 2) / d_model)
    angle = position * inv_wavelength  # (max_len, ceil(d/2))
    table = np.empty((max_len, d_model))
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, :d_model // 2])  # an odd d_model has one sine more
    return table


def _check_length(x, max_len, features, name):
    """The sequence length T of x (..., T, features), checked against the layer."""
    if x.ndim < 2 or x.shape[-1] != features:
        raise ShapeError(f"{name}: input of shape {tuple(x.shape)} should be (..., T, {features})")
    length = x.shape[-2]
    if length > max_len:
        raise ShapeError(f"{name}: sequence length {length} (dim -2 of input shape "
                         f"{tuple(x.shape)}) exceeds max_len={max_len}; "
                         "build the layer with a larger max_len")
    return length


class PositionalEncoding(Module):
    """forward(x) = dropout(x + PE[:T]) for x of shape (B, T, d_model) (or (T, d_model)),
    with the fixed table of :func:`sinusoidal_table`.

    The table is a buffer: ``double()`` converts it, but it is not saved in
    ``state_dict()`` (``persistent=False``) because it is a function of
    (d_model, max_len) alone, and saving it would only tie checkpoints to max_len.
    Scaling embeddings by sqrt(d_model) first is the model's job.
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0):
        super().__init__()
        self.d_model = d_model
        self.max_len = max_len
        self.dropout = Dropout(dropout)
        table = Tensor(sinusoidal_table(max_len, d_model), dtype=get_default_dtype())
        self.register_buffer("pe", table, persistent=False)

    def forward(self, x):
        length = _check_length(x, self.max_len, self.d_model, type(self).__name__)
        return self.dropout(x + self.pe[:length])

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEmbedding(Module):
    """forward(x) = x + weight[:T] for x of shape (B, T, embedding_dim) (or (T, embedding_dim)):
    one trained vector per position, as in BERT and GPT-2. PyTorch has no such
    layer; this is an ``Embedding`` of the positions 0..T-1, added to x.

    ``weight`` is (max_len, embedding_dim), initialised N(0, 1) like ``Embedding``
    (GPT-2 uses std 0.02: re-initialise with ``init.normal_(layer.weight, std=0.02)``).
    Apply dropout in the model, after the addition.
    """

    def __init__(self, max_len, embedding_dim):
        super().__init__()
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.weight = Parameter(np.empty((max_len, embedding_dim), dtype=get_default_dtype()))
        init.normal_(self.weight)

    def forward(self, x):
        length = _check_length(x, self.max_len, self.embedding_dim, type(self).__name__)
        return x + self.weight[:length]

    def extra_repr(self):
        return f"{self.max_len}, {self.embedding_dim}"
