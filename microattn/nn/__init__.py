"""Neural-network layers built from Modules: ``from microattn import nn``."""
from . import init, utils
from .activation import GELU, ReLU
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .embedding import Embedding
from .linear import Linear
from .module import Module, Parameter
from .norm import LayerNorm
from .positional import LearnedPositionalEmbedding, PositionalEncoding

__all__ = [
    "Module", "Parameter", "ModuleList", "ModuleDict", "Sequential",
    "Linear", "Embedding", "LayerNorm", "Dropout", "ReLU", "GELU",
    "PositionalEncoding", "LearnedPositionalEmbedding",
    "init", "utils",
]
from .attention import AdditiveAttention, MultiheadAttention
from .transformer import (TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)

__all__ += ["MultiheadAttention", "AdditiveAttention", "TransformerEncoderLayer",
            "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder"]
