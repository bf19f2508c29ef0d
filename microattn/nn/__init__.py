"""Neural-network layers built from Modules: ``from microattn import nn``."""
import sys

from .. import functional
from . import init, utils
from .activation import (ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax,
                         Softplus, Tanh)
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .lazy import LazyLinear, UninitializedParameter
from .linear import Identity, Linear
from .module import Module, Parameter
from .norm import LayerNorm
from .positional import LearnedPositionalEmbedding, PositionalEncoding
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = [
    "Module", "Parameter", "ModuleList", "ModuleDict", "Sequential",
    "Linear", "LazyLinear", "UninitializedParameter", "Embedding", "LayerNorm", "Dropout",
    "ReLU", "GELU",
    "PositionalEncoding", "LearnedPositionalEmbedding",
    "RNNBase", "RNN", "GRU", "LSTM", "RNNCellBase", "RNNCell", "GRUCell", "LSTMCell",
    "init", "utils",
]
from .attention import AdditiveAttention, MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)

__all__ += ["MultiheadAttention", "AdditiveAttention", "TransformerEncoderLayer",
            "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder"]
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, KLDivLoss, L1Loss,
                     MSELoss, NLLLoss)

__all__ += ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "KLDivLoss", "BCELoss",
            "BCEWithLogitsLoss", "Identity", "Flatten", "Softmax", "LogSoftmax", "Tanh",
            "Sigmoid", "SiLU", "LeakyReLU", "ELU", "Softplus", "Transformer"]

# ``microattn.nn.functional`` is ``microattn.functional``, as torch.nn.functional
# is what PyTorch code imports as F.
sys.modules[__name__ + ".functional"] = functional
__all__ += ["functional"]
