"""Fused ops: softmax, log-softmax, cross-entropy, layer norm, attention, linear,
embedding and GELU, one file each, each one Function with its derivation.

Each could be composed from the primitive ops (functional.py does so with
``fused=False``, and tests check that both agree); fused, each is one node with
one short backward formula, numerically safe (float16 is computed in float32),
and the place where speed work goes. Importing this package binds
``softmax``, ``log_softmax`` and ``gelu`` onto ``Tensor``.
"""
from ..ops.methods import bind
from .attention import ScaledDotProductAttention
from .cross_entropy import REDUCTIONS, BinaryCrossEntropy, CrossEntropy
from .embedding import Embedding
from .gelu import GELU, erf
from .layer_norm import LayerNorm
from .linear import Linear
from .softmax import LogSoftmax, Softmax

bind({"softmax": Softmax.apply, "log_softmax": LogSoftmax.apply, "gelu": GELU.apply})

softmax, log_softmax, gelu, embedding = (Softmax.apply, LogSoftmax.apply, GELU.apply,
                                         Embedding.apply)

__all__ = ["ScaledDotProductAttention", "REDUCTIONS", "BinaryCrossEntropy", "CrossEntropy",
           "Embedding", "GELU", "erf", "LayerNorm", "Linear", "LogSoftmax", "Softmax",
           "softmax", "log_softmax", "gelu", "embedding"]
