"""GPT: a decoder-only Transformer language model (Radford et al., 2018, 2019)."""
import math
import numbers

import numpy as np

from ..core import Tensor, no_grad
from ..core.random import generator
from ..nn import (Dropout, Embedding, LayerNorm, LearnedPositionalEmbedding, Linear, Module,
                  ModuleList, TransformerEncoderLayer, init)
from .tokens import token_array


class GPT(Module):
    """A causal language model: each position predicts the next token from those before it::

        x = dropout(tok_embed(idx) + pos_embed[:T])          (B, T, d_model)
        for block in blocks:                                 pre-norm, causal:
            x = x + SA(block.norm1(x))                       SA: self-attention
            x = x + FF(block.norm2(x))                       FF: feed-forward network
        logits = lm_head(ln_f(x))                            (B, T, vocab_size)

    Each block is an ``nn.TransformerEncoderLayer(norm_first=True)`` run with causal
    self-attention: with no encoder to attend to, GPT's "decoder" block is an
    encoder layer that cannot look ahead. Pre-norm keeps an unnormalised residual
    path from input to output, hence the final LayerNorm ``ln_f``.
    ``dim_feedforward`` defaults to 4 * d_model.

    ``tie_weights=True`` makes ``lm_head.weight`` the token embedding's Parameter
    itself (one Parameter, counted once, its gradient the sum of both uses).

    Initialisation as GPT-2: weights N(0, 0.02^2), the two projections that write
    into the residual stream (``self_attn.out_proj``, ``linear2``) N(0, (0.02 /
    sqrt(2 * num_layers))^2) so the stream's variance does not grow with depth,
    biases 0, norms 1 and 0.
    """

    def __init__(self, vocab_size, d_model, nhead, num_layers, max_len, dim_feedforward=None,
                 dropout=0.0, tie_weights=False, activation="gelu", layer_norm_eps=1e-5):
        super().__init__()
        sizes = dict(vocab_size=vocab_size, d_model=d_model, nhead=nhead,
                     num_layers=num_layers, max_len=max_len)
        if dim_feedforward is not None:
            sizes["dim_feedforward"] = dim_feedforward
        for name, value in sizes.items():
            _check_size(name, value)
        if d_model % nhead != 0:
            raise ValueError(f"GPT: d_model={d_model} should be divisible by nhead={nhead} "
                             f"(each head gets d_model / nhead dimensions)")
        self.vocab_size = vocab_size
        self.max_len = max_len
        dim_feedforward = 4 * d_model if dim_feedforward is None else dim_feedforward
        self.tok_embed = Embedding(vocab_size, d_model)
        self.pos_embed = LearnedPositionalEmbedding(max_len, d_model)
        self.drop = Dropout(dropout)
        self.blocks = ModuleList([
            TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                    layer_norm_eps, batch_first=True, norm_first=True)
            for _ in range(num_layers)])
        self.ln_f = LayerNorm(d_model, eps=layer_norm_eps)
        self.lm_head = Linear(d_model, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.tok_embed.weight
        self._reset_parameters(num_layers)

    def _reset_parameters(self, num_layers):
        residual_std = 0.02 / math.sqrt(2 * num_layers)
        for name, param in self.named_parameters():
            if param.ndim < 2:
                continue  # biases stay 0 below, norms stay at 1 and 0
            residual = name.endswith(("out_proj.weight", "linear2.weight"))
            init.normal_(param, std=residual_std if residual else 0.02)
        for module in self.modules():
            if isinstance(module, Linear) and module.bias is not None:
                init.zeros_(module.bias)

    def forward(self, idx):
        """Token ids idx (B, T), T <= max_len -> next-token logits (B, T, vocab_size)."""
        idx = token_array(idx, "idx")
        if idx.shape[1] > self.max_len:
            raise ValueError(f"GPT: sequence length {idx.shape[1]} exceeds max_len="
                             f"{self.max_len}; pass at most the last max_len tokens")
        x = self.drop(self.pos_embed(self.tok_embed(idx)))  # (B, T) -> (B, T, d_model)
        for block in self.blocks:
            x = block(x, is_causal=True)                     # (B, T, d_model)
        return self.lm_head(self.ln_f(x))                    # (B, T, vocab_size)

    @no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Extend idx (B, T) by ``max_new_tokens`` sampled tokens: an int64 Tensor
        (B, T + max_new_tokens).

        Each step runs the model on the last ``max_len`` tokens and samples the next
        token from softmax(logits / temperature), restricted to the ``top_k`` most
        likely tokens if given. ``temperature=0`` picks the most likely token
        (greedy); ``top_k=1`` does the same. Draws come from the generator
        ``ma.manual_seed`` seeds, so seeded runs repeat exactly. Runs without
        recording a graph; dropout follows the module's mode, so call ``eval()`` first.
        """
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral):
            raise TypeError(f"generate: max_new_tokens should be an int, got "
                            f"{type(max_new_tokens).__name__} {max_new_tokens!r}")
        if max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens should be >= 0, got {max_new_tokens}")
        if not isinstance(temperature, numbers.Real):
            raise TypeError(f"generate: temperature should be a number, got "
                            f"{type(temperature).__name__} {temperature!r}")
        if not 0 <= temperature < math.inf:   # also refuses NaN
            raise ValueError(f"generate: temperature should be a finite number >= 0 (0 means "
                             f"greedy), got {temperature}")
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
                raise TypeError(f"generate: top_k should be an int number of tokens or None, "
                                f"got {type(top_k).__name__} {top_k!r}")
            if top_k < 1:
                raise ValueError(f"generate: top_k should be >= 1 or None, got {top_k}")
        tokens = token_array(idx, "idx").astype(np.int64)
        if tokens.shape[1] == 0:
            raise ValueError(f"generate: the prompt idx has shape {tokens.shape}, with no "
                             f"tokens; the model needs at least one token per row to predict "
                             f"the next (start from a token such as <bos>)")
        for _ in range(max_new_tokens):
            # (B, T) -> (B, T, vocab) -> the last position's logits (B, vocab)
            logits = self(tokens[:, -self.max_len:])._data[:, -1].astype(np.float64)
            if top_k is not None and top_k < logits.shape[-1]:
                kth_largest = np.partition(logits, -top_k, axis=-1)[:, -top_k, None]
                logits = np.where(logits < kth_largest, -np.inf, logits)
            if temperature == 0:
                token = logits.argmax(-1)
            else:
                # The Gumbel-max trick: argmax(l / t + g), g ~ Gumbel(0, 1) i.i.d., is a
                # sample of softmax(l / t), for every row at once; -inf stays unpicked.
                noise = generator().gumbel(size=logits.shape)
                token = (logits / temperature + noise).argmax(-1)
            tokens = np.concatenate([tokens, token[:, None]], axis=1)
        return Tensor(tokens)


def _check_size(name, value):
    """Raise TypeError unless ``value`` is an int, ValueError unless it is >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"GPT: {name} should be a positive int, got {type(value).__name__} "
                        f"{value!r}")
    if value < 1:
        raise ValueError(f"GPT: {name} should be a positive int, got {value}")
