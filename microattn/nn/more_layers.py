"""More layers with PyTorch's names: Identity, Flatten, the activation and
softmax modules, and nn.Transformer (an encoder and a decoder stack)."""
import numpy as np

from .. import functional as F
from ..autograd import Tensor
from . import init
from .module import Module
from .norm import LayerNorm
from .transformer import (TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)


class Identity(Module):
    """y = x (arguments accepted and ignored, as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Merge dims start_dim..end_dim (1 to -1 by default: keep the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


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


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need", as
    ``torch.nn.Transformer``: an encoder stack and a decoder stack, each ending
    in LayerNorm; embeddings and the output projection are the user's.
    Shapes (S, B, E) and (T, B, E), or batch first with ``batch_first=True``."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False,
                 norm_first=False, bias=True):
        super().__init__()
        options = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                       layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                       norm_first=norm_first, bias=bias)
        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():  # as PyTorch: Xavier-uniform for every matrix
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """(sz, sz) float mask: 0 on and below the diagonal, -inf above (causal)."""
        mask = np.triu(np.full((sz, sz), -np.inf), 1).astype(dtype or np.float32)
        return Tensor._make(mask, None)
