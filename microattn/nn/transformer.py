"""The Transformer's encoder and decoder layers, and stacks of them, as PyTorch's:
(T, B, d_model) by default, (B, T, d_model) with ``batch_first=True``."""
import copy

from .. import functional as F
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .norm import LayerNorm

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation):
    """'relu', 'gelu' or any callable (a function or a Module) -> the callable."""
    if callable(activation):
        return activation
    if activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]
    raise ValueError(f"activation should be 'relu', 'gelu' or a callable, got {activation!r}")


def _clones(module, n):
    """``n`` independent deep copies of ``module``: each has its own parameters
    (Parameter.__deepcopy__ gives each copy fresh arrays and its own gradients)."""
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class _TransformerLayer(Module):
    """What both layers are built from: their submodules, with PyTorch's names and in
    PyTorch's order (so parameters list and load alike), and the steps of forward."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                 norm_first, bias, batch_first, cross_attention):
        super().__init__()
        blocks = 3 if cross_attention else 2  # residual blocks, each with a norm and a dropout
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        if cross_attention:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.batch_first = batch_first
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)

    def _residual(self, x, norm, block, *args):
        """Pre-norm ``x + block(norm(x))`` or post-norm ``norm(x + block(x))``."""
        if self.norm_first:
            return x + block(norm(x), *args)
        return norm(x + block(x, *args))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x, dropout):
        """The position-wise feed-forward network, then the residual's ``dropout``."""
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward block, each wrapped in dropout, a residual
    connection and layer norm, as ``torch.nn.TransformerEncoderLayer``::

        post-norm (default, the paper):  x = norm1(x + SA(x));   x = norm2(x + FF(x))
        pre-norm (norm_first=True):      x = x + SA(norm1(x));   x = x + FF(norm2(x))

    with SA(x) = dropout1(self_attn(x, x, x)) and
    FF(x) = dropout2(linear2(dropout(activation(linear1(x))))).
    ``activation`` is 'relu', 'gelu' or a callable; ``bias=False`` drops the biases
    of every Linear and LayerNorm. Shapes are (T, B, d_model), or (B, T, d_model)
    with ``batch_first=True``.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         norm_first, bias, batch_first, cross_attention=False)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """src (T, B, d_model) -> (T, B, d_model), or (B, T, ...) batch first; masks as ``MultiheadAttention``'s
        (True = not allowed); ``is_causal`` makes the self-attention causal."""
        x = self._residual(src, self.norm1, self._sa_block, src_mask, src_key_padding_mask,
                           is_causal)
        return self._residual(x, self.norm2, self._ff_block, self.dropout2)


class TransformerDecoderLayer(_TransformerLayer):
    """Masked self-attention, attention over the encoder's output (``memory``), and a
    feed-forward block, each with dropout, a residual connection and layer norm, as
    ``torch.nn.TransformerDecoderLayer``::

        post-norm:  x = norm1(x + SA(x));  x = norm2(x + MHA(x, mem));  x = norm3(x + FF(x))
        pre-norm:   x = x + SA(norm1(x));  x = x + MHA(norm2(x), mem);  x = x + FF(norm3(x))

    with SA and FF as in the encoder layer (FF ending in dropout3 here) and
    MHA(x, mem) = dropout2(multihead_attn(x, mem, mem)).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         norm_first, bias, batch_first, cross_attention=True)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """tgt (B, Tt, d_model), memory (B, Ts, d_model) -> (B, Tt, d_model). ``tgt_*``
        masks apply to self-attention, ``memory_*`` to the attention over memory;
        True = not allowed, as ``MultiheadAttention``."""
        x = self._residual(tgt, self.norm1, self._sa_block, tgt_mask, tgt_key_padding_mask,
                           tgt_is_causal)
        x = self._residual(x, self.norm2, self._mha_block, memory, memory_mask,
                           memory_key_padding_mask, memory_is_causal)
        return self._residual(x, self.norm3, self._ff_block, self.dropout3)


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer`` applied in turn, then
    ``norm`` if given (as pre-norm stacks need), as ``torch.nn.TransformerEncoder``."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """src (B, T, d_model) -> (B, T, d_model). ``mask`` and ``src_key_padding_mask``
        go to every layer; ``is_causal=True`` makes every layer causal (None, PyTorch's
        default, leaves it to ``mask``)."""
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """``num_layers`` independent copies of ``decoder_layer``, each attending to the
    same ``memory``, then ``norm`` if given, as ``torch.nn.TransformerDecoder``."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        """tgt (B, Tt, d_model), memory (B, Ts, d_model) -> (B, Tt, d_model); the masks
        and flags go to every layer (``tgt_is_causal=None`` leaves causality to ``tgt_mask``)."""
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=bool(tgt_is_causal),
                           memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)
