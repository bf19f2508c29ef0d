"""A small GPT language model written for PyTorch, in the style of the
popular from-scratch tutorials (nanoGPT, minGPT). It is plain PyTorch code:
the compatibility tests run it under real torch and, unchanged, under
microattn via ``microattn.install_as_torch()``.

Written for microattn's tests; deliberately uses the idioms learners meet:
a LayerNorm with an optional bias on F.layer_norm, a fused q/k/v projection
split with .split(), F.scaled_dot_product_attention with is_causal, a causal
mask buffer for the explicit attention path, weight tying, self.apply for
initialisation, parameter groups for AdamW, and top-k sampling.
"""
import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class ModelConfig:
    context: int = 16
    vocab: int = 65
    layers: int = 2
    heads: int = 2
    width: int = 32
    dropout: float = 0.0
    bias: bool = True
    use_sdpa: bool = True  # False: the explicit softmax(q k^T) v path with a mask buffer


class BiasOptionalLayerNorm(nn.Module):
    """LayerNorm whose bias can be switched off (nn.LayerNorm's bias=False came late)."""

    def __init__(self, size, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class SelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.width % cfg.heads == 0
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width, bias=cfg.bias)
        self.proj = nn.Linear(cfg.width, cfg.width, bias=cfg.bias)
        self.attn_drop = nn.Dropout(cfg.dropout)
        self.out_drop = nn.Dropout(cfg.dropout)
        self.heads, self.width, self.p = cfg.heads, cfg.width, cfg.dropout
        self.use_sdpa = cfg.use_sdpa and hasattr(F, "scaled_dot_product_attention")
        if not self.use_sdpa:
            causal = torch.tril(torch.ones(cfg.context, cfg.context))
            self.register_buffer("mask", causal.view(1, 1, cfg.context, cfg.context))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(self.width, dim=2)
        # (B, T, C) -> (B, heads, T, C // heads)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        if self.use_sdpa:
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None, dropout_p=self.p if self.training else 0.0,
                is_causal=True)
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            scores = scores.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
            weights = self.attn_drop(F.softmax(scores, dim=-1))
            y = weights @ v
        # (B, heads, T, C // heads) -> (B, T, C)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.out_drop(self.proj(y))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.up = nn.Linear(cfg.width, 4 * cfg.width, bias=cfg.bias)
        self.act = nn.GELU()
        self.proj = nn.Linear(4 * cfg.width, cfg.width, bias=cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.drop(self.proj(self.act(self.up(x))))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm1 = BiasOptionalLayerNorm(cfg.width, bias=cfg.bias)
        self.attn = SelfAttention(cfg)
        self.norm2 = BiasOptionalLayerNorm(cfg.width, bias=cfg.bias)
        self.ff = FeedForward(cfg)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class TinyGPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.body = nn.ModuleDict(dict(
            tok=nn.Embedding(cfg.vocab, cfg.width),
            pos=nn.Embedding(cfg.context, cfg.width),
            drop=nn.Dropout(cfg.dropout),
            blocks=nn.ModuleList([Block(cfg) for _ in range(cfg.layers)]),
            norm=BiasOptionalLayerNorm(cfg.width, bias=cfg.bias),
        ))
        self.head = nn.Linear(cfg.width, cfg.vocab, bias=False)
        self.body.tok.weight = self.head.weight  # tie input and output embeddings
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # residual projections: scaled init
            if name.endswith("proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.layers))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding=True):
        n = sum(p.numel() for p in self.parameters())
        return n - self.body.pos.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.cfg.context, f"sequence of {t} is longer than the context"
        pos = torch.arange(0, t, dtype=torch.long, device=device)
        x = self.body.drop(self.body.tok(idx) + self.body.pos(pos))
        for block in self.body.blocks:
            x = block(x)
        x = self.body.norm(x)
        if targets is not None:
            logits = self.head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        else:
            logits = self.head(x[:, [-1], :])  # only the last position is needed
            loss = None
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        params = {name: p for name, p in self.named_parameters() if p.requires_grad}
        decay = [p for name, p in params.items() if p.dim() >= 2]
        no_decay = [p for name, p in params.items() if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        fused = "fused" in inspect.signature(torch.optim.AdamW).parameters
        extra = dict(fused=True) if fused and device_type == "cuda" else dict()
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **extra)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.cfg.context else idx[:, -self.cfg.context:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx
