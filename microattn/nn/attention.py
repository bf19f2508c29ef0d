"""Attention layers: multi-head scaled dot-product attention and Bahdanau's additive attention.

Both keep the attention weights of their last forward in ``last_attn_weights``
(a detached tensor), so they can be drawn after any call.
"""
import math


from .. import functional as F
from ..core.tensor import unwrap
from ..core.errors import ShapeError
from ..ops.dropout import check_probability
from . import init
from .linear import Linear
from .module import Module


class MultiheadAttention(Module):
    """Multi-head attention of "Attention Is All You Need", as ``torch.nn.MultiheadAttention``::

        head_i = softmax(Q W_q,i (K W_k,i)^T / sqrt(d) + mask) V W_v,i,   d = embed_dim / num_heads
        output = concat(head_1, ..., head_h) W_o

    ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj`` are Linear layers (PyTorch
    packs the first three into one ``in_proj_weight``); the heads are the
    ``num_heads`` slices of their outputs, split off by a reshape, so all heads and
    batch rows run in one ``F.scaled_dot_product_attention`` call. ``kdim`` and
    ``vdim`` are the feature sizes of key and value when they differ from
    ``embed_dim``. ``dropout`` drops attention weights while training.
    ``fused=False`` uses the attention composed from primitive ops (the same
    numbers, every step in the graph).

    ``batch_first`` as PyTorch: False (the default) takes and returns (T, B, E),
    True takes and returns (B, T, E); the models here are batch first.

    ``capture_graph = True`` (an attribute, for pictures of gradients) makes the
    next forwards use the composed attention and keep ``last_attn_weights``
    attached to the graph (``retain_grad()`` it before backward to read dL/dA),
    and ``last_attn_scores``, the pre-softmax scores S = Q K^T / sqrt(d) + mask,
    attached too (``retain_grad()`` it to read dL/dS, what the scores receive).

    Masks follow ``torch.nn.MultiheadAttention``, NOT ``F.scaled_dot_product_attention``:
    a boolean ``attn_mask`` (Tq, Tk) or (B * num_heads, Tq, Tk) and a boolean
    ``key_padding_mask`` (B, Tk) are True where attention is NOT allowed (True
    marks padding); float masks are added to the scores. ``is_causal=True`` lets
    query i see keys 0..i only (top-left aligned when Tq != Tk), on top of any
    ``attn_mask``. A query that may attend to nothing gets output
    ``out_proj.bias`` (attention 0), never nan.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, kdim=None, vdim=None,
                 batch_first=False, fused=True):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be a positive multiple of "
                             f"num_heads ({num_heads})")
        check_probability(dropout)
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.dropout = dropout
        self.batch_first = batch_first
        self.fused = fused
        self.capture_graph = False
        self.q_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = Linear(self.kdim, embed_dim, bias=bias)
        self.v_proj = Linear(self.vdim, embed_dim, bias=bias)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.last_attn_weights = None
        self.last_attn_scores = None
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's initialisation: Xavier-uniform in-projections (one draw over the
        packed (3E, E) matrix when key and value have embed_dim features), zero biases,
        and out_proj's weight as any Linear."""
        projections = (self.q_proj, self.k_proj, self.v_proj)
        if self.kdim == self.vdim == self.embed_dim:
            bound = math.sqrt(6.0 / (self.embed_dim + 3 * self.embed_dim))
            for proj in projections:
                init.uniform_(proj.weight, -bound, bound)
        else:
            for proj in projections:
                init.xavier_uniform_(proj.weight)
        for proj in (*projections, self.out_proj):
            if proj.bias is not None:
                init.zeros_(proj.bias)

    def _split_heads(self, x):
        """(B, T, E) -> (B, heads, T, head_dim)."""
        batch, length, _ = x.shape
        x = x.reshape(batch, length, self.num_heads, self.head_dim)  # (B, T, heads, head_dim)
        return x.transpose(1, 2)                                      # (B, heads, T, head_dim)

    def _mask(self, attn_mask, key_padding_mask, batch, q_len, k_len, dtype):
        """``attn_mask`` and ``key_padding_mask`` (boolean, True where attention is NOT
        allowed, or float) as one mask in the kernel's form (F.attention_mask),
        broadcasting to (B, heads, Tq, Tk). A float mask given as a tensor keeps
        its gradient."""
        if attn_mask is None and key_padding_mask is None:
            return None
        F.check_mask("MultiheadAttention", "attn_mask", attn_mask)
        F.check_mask("MultiheadAttention", "key_padding_mask", key_padding_mask)
        if attn_mask is not None:
            shape = tuple(attn_mask.shape)
            if shape == (batch * self.num_heads, q_len, k_len):
                # (B * heads, Tq, Tk) -> (B, heads, Tq, Tk)
                attn_mask = attn_mask.reshape(batch, self.num_heads, q_len, k_len)
            elif shape != (q_len, k_len):
                raise ShapeError(
                    f"MultiheadAttention: attn_mask of shape {shape} should be (Tq, Tk) = "
                    f"({q_len}, {k_len}) or (B * num_heads, Tq, Tk) = "
                    f"({batch * self.num_heads}, {q_len}, {k_len})")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, k_len):
                raise ShapeError(f"MultiheadAttention: key_padding_mask of shape "
                                 f"{tuple(key_padding_mask.shape)} should be (B, Tk) = "
                                 f"({batch}, {k_len})")
            key_padding_mask = key_padding_mask.reshape(batch, 1, 1, k_len)  # (B, 1, 1, Tk)
        masks = [F.attention_mask(m, dtype, true_means="blocked")
                 for m in (attn_mask, key_padding_mask) if m is not None]
        return masks[0] if len(masks) == 1 else masks[0] + masks[1]

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """query (Tq, B, E), key (Tk, B, kdim), value (Tk, B, vdim) -> (output (Tq, B, E),
        weights); all (B, T, ...) with ``batch_first=True``. Arguments in PyTorch's order.

        weights are the attention weights before dropout, averaged over heads
        (B, Tq, Tk), or per head (B, heads, Tq, Tk) with
        ``average_attn_weights=False``; None when ``need_weights=False``.
        ``last_attn_weights`` keeps the per-head weights either way, except where
        the tiled attention runs (long sequences, ``need_weights=False``; see
        ``F.attention_path``), which never holds them: it is None then.
        """
        layout = "(B, T, features)" if self.batch_first else "(T, B, features)"
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3:
                raise ShapeError(f"MultiheadAttention: {name} of shape {tuple(t.shape)} "
                                 f"should be {layout} (batch_first={self.batch_first})")
        if not self.batch_first:
            # (T, B, features) -> (B, T, features)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if key.shape[:2] != value.shape[:2] or query.shape[0] != key.shape[0]:
            raise ShapeError(f"MultiheadAttention: query {tuple(query.shape)}, key "
                             f"{tuple(key.shape)} and value {tuple(value.shape)} should be "
                             "(B, Tq, E), (B, Tk, kdim) and (B, Tk, vdim) once batch first")
        batch, q_len, _ = query.shape
        k_len = key.shape[1]
        q = self._split_heads(self.q_proj(query))   # (B, heads, Tq, head_dim)
        k = self._split_heads(self.k_proj(key))     # (B, heads, Tk, head_dim)
        v = self._split_heads(self.v_proj(value))   # (B, heads, Tk, head_dim)
        mask = self._mask(attn_mask, key_padding_mask, batch, q_len, k_len, q.dtype)
        dropout = self.dropout if self.training else 0.0
        fused = self.fused and not self.capture_graph
        # the tiled op keeps no weights; it runs only where nothing needs them
        tiled = F.takes_tiled_path(q_len, k_len, need_weights, fused, dropout,
                                   getattr(mask, "requires_grad", False))
        heads = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=is_causal,
            need_weights=not tiled, fused=fused,
            scores_hook=self._keep_scores if self.capture_graph else None)
        heads, weights = (heads, None) if tiled else heads
        # kept for pictures; attached to the graph when they record its gradient
        self.last_attn_weights = weights if tiled or self.capture_graph else weights.detach()
        # (B, heads, Tq, head_dim) -> (B, Tq, heads, head_dim) -> (B, Tq, E)
        heads = heads.transpose(1, 2)                             # (B, Tq, heads, head_dim)
        output = self.out_proj(heads.reshape(batch, q_len, self.embed_dim))  # (B, Tq, E)
        if not self.batch_first:
            output = output.transpose(0, 1)  # (B, Tq, E) -> (Tq, B, E)
        if not need_weights:
            return output, None
        # (B, heads, Tq, Tk), or averaged over heads: (B, Tq, Tk)
        return output, (weights.mean(1) if average_attn_weights else weights)

    def _keep_scores(self, scores):
        self.last_attn_scores = scores  # (B, heads, Tq, Tk), attached: dL/dS can be retained

    def extra_repr(self):
        extra = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
        if self.batch_first:
            extra += ", batch_first=True"
        if (self.kdim, self.vdim) != (self.embed_dim, self.embed_dim):
            extra += f", kdim={self.kdim}, vdim={self.vdim}"
        return extra


class AdditiveAttention(Module):
    """Additive attention of Bahdanau, Cho & Bengio (2015)::

        score(q, k_j) = v^T tanh(W_q q + W_k k_j)
        weights = softmax_j(score),   context = sum_j weights_j value_j

    with ``W_q = query_proj.weight`` (hidden, query_dim), ``W_k = key_proj.weight``
    (hidden, key_dim) and ``v = score_proj.weight`` (1, hidden), no biases, as in
    the paper. Unlike dot-product attention, query and key may differ in size.
    """

    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = Linear(key_dim, hidden_dim, bias=False)
        self.score_proj = Linear(hidden_dim, 1, bias=False)
        self.last_attn_weights = None

    def forward(self, query, key, value=None, key_padding_mask=None):
        """query (B, Tq, query_dim) or (B, query_dim); key (B, Tk, key_dim); value
        (B, Tk, Dv), the keys themselves when left out. ``key_padding_mask`` (B, Tk) is
        True at padding, which gets no weight; a row with only padding gets none at all.

        Returns (context, weights): (B, Tq, Dv) and (B, Tq, Tk), or (B, Dv) and
        (B, Tk) for a 2-D query.
        """
        value = key if value is None else value
        single = query.ndim == 2
        if single:
            query = query.unsqueeze(1)  # (B, query_dim) -> (B, 1, query_dim)
        if query.ndim != 3 or key.ndim != 3 or value.ndim != 3:
            raise ShapeError(f"AdditiveAttention: query {tuple(query.shape)}, key "
                             f"{tuple(key.shape)} and value {tuple(value.shape)} should be "
                             "(B, Tq, query_dim), (B, Tk, key_dim) and (B, Tk, Dv)")
        # (B, Tq, 1, H) + (B, 1, Tk, H): every query meets every key by broadcasting.
        hidden = (self.query_proj(query).unsqueeze(2) + self.key_proj(key).unsqueeze(1)).tanh()
        scores = self.score_proj(hidden).squeeze(-1)  # (B, Tq, Tk, 1) -> (B, Tq, Tk)
        if key_padding_mask is not None:
            padding = unwrap(key_padding_mask).astype(bool)[:, None, :]  # (B, Tk) -> (B, 1, Tk)
            scores = scores + F.attention_mask(padding, scores.dtype, true_means="blocked")
        weights = F.masked_softmax(scores)
        context = weights @ value  # (B, Tq, Tk) @ (B, Tk, Dv) -> (B, Tq, Dv)
        if single:
            context, weights = context.squeeze(1), weights.squeeze(1)  # (B, Dv), (B, Tk)
        self.last_attn_weights = weights.detach()
        return context, weights

    def extra_repr(self):
        return (f"query_dim={self.query_proj.in_features}, key_dim={self.key_proj.in_features}, "
                f"hidden_dim={self.score_proj.in_features}")
