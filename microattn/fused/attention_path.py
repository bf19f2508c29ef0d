"""Which attention runs: the materialising op or the tiled one, and the one switch to force either.

The materialising op (fused/attention.py ScaledDotProductAttention) holds the
weights P, B * heads * Tq * Tk numbers: pictures need them, and at short
lengths it is the faster one. The tiled op (fused/tiled_attention.py) never
holds them: its memory grows as T, and at long lengths it is faster too.
F.scaled_dot_product_attention and nn.MultiheadAttention ask
``takes_tiled_path`` which to run, and nothing else decides.
"""

# "auto" takes the tiled op from Tq * Tk = TILED_FROM ** 2 scores per head: the
# crossover of one causal MultiheadAttention forward+backward measured by
# benchmarks/bench_attention_scaling.py (docs/performance.md has the table).
TILED_FROM = 256

PATHS = ("auto", "tiled", "materialized")


class attention_path:
    """Force one attention path, as a setting or for a ``with`` block.

    ``"auto"`` (the default): the tiled op from ``TILED_FROM ** 2`` scores per
    head on, where nothing needs the weights. ``"tiled"``: the tiled op at any
    length, where nothing needs the weights. ``"materialized"``: the
    materialising op always. Nothing needs the weights when
    ``need_weights=False``, attention is fused, there is no dropout on them,
    no mask takes a gradient and no picture records them
    (``MultiheadAttention.capture_graph``, set by ``viz.AttentionRecorder``):
    a forced ``"tiled"`` yields to all of these. The tiled path keeps no
    ``last_attn_weights`` (it is None after such a forward).

    Calling it sets the path (as ``torch.set_grad_enabled``); leaving a
    ``with`` block restores the one before::

        F.attention_path("tiled")             # from now on
        with F.attention_path("materialized"):
            ...                               # only here
    """

    current = "auto"

    def __init__(self, path):
        if path not in PATHS:
            raise ValueError(f"attention_path: path must be one of {PATHS}, got {path!r}")
        self.previous = attention_path.current
        attention_path.current = path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        attention_path.current = self.previous


def takes_tiled_path(q_len, k_len, need_weights=False, fused=True, dropout_p=0.0,
                     mask_requires_grad=False):
    """True where scaled-dot-product attention runs the tiled op: nothing needs the
    weights (see :class:`attention_path`) and the path is "tiled", or "auto" with
    ``q_len * k_len >= TILED_FROM ** 2``."""
    if need_weights or not fused or dropout_p > 0 or mask_requires_grad:
        return False
    if attention_path.current == "auto":
        return q_len * k_len >= TILED_FROM ** 2
    return attention_path.current == "tiled"
