"""The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al., 2017)."""
import math

import numpy as np

from ..core import Tensor, no_grad
from ..nn import (Embedding, LayerNorm, Linear, Module, PositionalEncoding, TransformerDecoder,
                  TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, init)
from .tokens import token_array


class Seq2SeqTransformer(Module):
    """Encoder-decoder Transformer for sequence-to-sequence tasks (translation, copying...)::

        memory = encoder(PE(src_embed(src) * sqrt(d_model)))                   (B, Ts, d_model)
        logits = output_proj(decoder(PE(tgt_embed(tgt) * sqrt(d_model)), memory))   (B, Tt, tgt_vocab)

    PE adds the fixed sinusoids (then dropout); the decoder's self-attention is
    causal, and its cross-attention reads ``memory``. ``encoder`` and ``decoder``
    are ``nn.TransformerEncoder``/``TransformerDecoder`` stacks that always end in a
    LayerNorm, as ``torch.nn.Transformer`` (post-norm by default, as the paper;
    ``norm_first=True`` for pre-norm).

    ``share_embeddings=True`` uses one table for source and target tokens (the
    vocabularies must be the same size): ``src_embed`` serves both and
    ``tgt_embed`` is None. ``pad_idx``, if given, is the id of the padding token:
    its embedding row stays zero, and key-padding masks left as None default to
    ``tokens == pad_idx``.

    Initialisation: every weight matrix (embeddings included) is Xavier-uniform,
    as in the Annotated Transformer and PyTorch's translation tutorial; biases
    and norms keep their layers' defaults.
    """

    def __init__(self, src_vocab, tgt_vocab, d_model=512, nhead=8, num_encoder_layers=6,
                 num_decoder_layers=6, dim_feedforward=2048, dropout=0.1, max_len=5000,
                 share_embeddings=False, pad_idx=None, norm_first=False, activation="relu",
                 layer_norm_eps=1e-5):
        super().__init__()
        if share_embeddings and src_vocab != tgt_vocab:
            raise ValueError(f"share_embeddings needs one vocabulary for both sides, got "
                             f"src_vocab={src_vocab} and tgt_vocab={tgt_vocab}")
        self.d_model = d_model
        self.max_len = max_len
        self.pad_idx = pad_idx
        self.src_embed = Embedding(src_vocab, d_model, padding_idx=pad_idx)
        self.tgt_embed = None if share_embeddings else Embedding(tgt_vocab, d_model,
                                                                 padding_idx=pad_idx)
        self.positional = PositionalEncoding(d_model, max_len, dropout)
        layer_args = dict(dim_feedforward=dim_feedforward, dropout=dropout,
                          activation=activation, layer_norm_eps=layer_norm_eps,
                          norm_first=norm_first, batch_first=True)
        self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **layer_args),
                                          num_encoder_layers,
                                          norm=LayerNorm(d_model, eps=layer_norm_eps))
        self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **layer_args),
                                          num_decoder_layers,
                                          norm=LayerNorm(d_model, eps=layer_norm_eps))
        self.output_proj = Linear(d_model, tgt_vocab)
        self._reset_parameters()

    def _reset_parameters(self):
        # Xavier on every matrix also makes the stacked layers differ: the stacks
        # start as deep copies of one layer.
        for param in self.parameters():
            if param.ndim > 1:
                init.xavier_uniform_(param)
        if self.pad_idx is not None:
            for embed in (self.src_embed, self.tgt_embed):
                if embed is not None:
                    embed.weight._data[embed.padding_idx] = 0

    def _padding_mask(self, tokens, mask):
        """The key-padding mask (B, T), True at padding: ``mask`` itself, or
        ``tokens == pad_idx`` when it is None and the model knows its pad_idx."""
        if mask is not None or self.pad_idx is None:
            return mask
        return tokens == self.pad_idx

    def _embed(self, embed, tokens):
        return self.positional(embed(tokens) * math.sqrt(self.d_model))  # (B, T, d_model)

    def encode(self, src, src_key_padding_mask=None):
        """src token ids (B, Ts) -> memory (B, Ts, d_model). The mask (B, Ts) is True at padding."""
        src = token_array(src, "src")
        return self.encoder(self._embed(self.src_embed, src),
                            src_key_padding_mask=self._padding_mask(src, src_key_padding_mask))

    def decode(self, tgt, memory, tgt_key_padding_mask=None, memory_key_padding_mask=None):
        """tgt token ids (B, Tt) and memory (B, Ts, d_model) -> logits (B, Tt, tgt_vocab).

        Position i sees tgt[:, :i+1] (causal self-attention) and all of memory but
        its padding (``memory_key_padding_mask``, (B, Ts), True at padding: pass the
        source's mask)."""
        tgt = token_array(tgt, "tgt")
        embed = self.src_embed if self.tgt_embed is None else self.tgt_embed
        hidden = self.decoder(self._embed(embed, tgt), memory,
                              tgt_key_padding_mask=self._padding_mask(tgt, tgt_key_padding_mask),
                              memory_key_padding_mask=memory_key_padding_mask,
                              tgt_is_causal=True)
        return self.output_proj(hidden)

    def forward(self, src, tgt, src_key_padding_mask=None, tgt_key_padding_mask=None):
        """src (B, Ts) and tgt (B, Tt) token ids -> logits (B, Tt, tgt_vocab).

        Masks are boolean, True at padding (PyTorch's key-padding convention); the
        source's mask also hides source padding from the cross-attention. For
        teacher forcing, feed tgt = target[:, :-1] and score logits against
        target[:, 1:].
        """
        src = token_array(src, "src")
        src_key_padding_mask = self._padding_mask(src, src_key_padding_mask)
        memory = self.encode(src, src_key_padding_mask)
        return self.decode(tgt, memory, tgt_key_padding_mask, src_key_padding_mask)

    @no_grad()
    def greedy_decode(self, src, max_len, bos, eos, src_key_padding_mask=None):
        """Translate ``src`` (B, Ts) by picking the most likely next token at each step.

        Returns an int64 Tensor (B, L), L <= ``max_len``: each row is ``bos``, the
        tokens generated, and ``eos`` once the model emits it. A row that has
        finished is filled with ``pad_idx`` (``eos`` if the model has none) while
        others go on; decoding stops when every row has emitted ``eos`` or the
        length reaches ``max_len``. Runs without recording a graph; dropout
        follows the module's mode, so call ``eval()`` first.
        """
        if not 1 <= max_len <= self.max_len:
            raise ValueError(f"greedy_decode: max_len={max_len} should be between 1 and the "
                             f"model's max_len={self.max_len}")
        src = token_array(src, "src")
        src_key_padding_mask = self._padding_mask(src, src_key_padding_mask)
        memory = self.encode(src, src_key_padding_mask)
        fill = eos if self.pad_idx is None else self.pad_idx
        out = np.full((src.shape[0], 1), bos, dtype=np.int64)
        finished = np.zeros(src.shape[0], dtype=bool)
        while out.shape[1] < max_len and not finished.all():
            # No cache of past keys and values: each step re-runs the decoder on
            # the whole prefix, which is simple and, at these sizes, cheap enough.
            logits = self.decode(out, memory, memory_key_padding_mask=src_key_padding_mask)
            # (B, L, tgt_vocab) -> the last position's most likely token (B,)
            token = np.where(finished, fill, logits._data[:, -1].argmax(-1))
            out = np.concatenate([out, token[:, None]], axis=1)  # (B, L) -> (B, L + 1)
            finished |= token == eos
        return Tensor(out)
