"""Tiled attention: softmax(scale * Q K^T + B) V without ever holding the Tq x Tk weights.

The materialising op (ScaledDotProductAttention in fused.py) keeps the weights P
of every batch row and head, B * heads * Tq * Tk numbers, and its backward
makes two more arrays of that size. This op walks the keys in tiles instead,
FlashAttention's way (Dao et al., 2022), holding one (query tile x key tile)
block of scores at a time for every batch row and head: memory grows as T,
not T^2. docs/tiled_attention.md derives both passes step by step.

Forward, for one tile of query rows (all batch rows and heads at once), with a
running max m, a running sum l and a running output O per row, starting from
m = -inf, l = 0, O = 0; for each key tile j:

    S_j = scale * Q K_j^T + B_j                 (one block of scores)
    m'  = max(m, rowmax(S_j))
    P_j = exp(S_j - m'),   a = exp(m - m')      (a rescales what came before)
    l   = a l + rowsum(P_j),   O = a O + P_j V_j,   m = m'

and at the end O = O / l, the softmax-weighted sum as if all keys were seen at
once, and L = m + log(l), the log-sum-exp of the row's scores. Only O and L
are kept for backward.

Backward, with dO = dL/dO: the weights of any tile come back exactly as
P_j = exp(S_j - L). The softmax backward dS = P * (dP - rowsum(dP * P)) needs
a sum over the whole row; since dP = dO V^T,

    rowsum(dP * P) = sum_j P_j (dO . V_j) = dO . (sum_j P_j V_j) = dO . O = D,

one number per row from the saved output: D = rowsum(dO * O). Then per tile

    dV_j += P_j^T dO,   dS_j = P_j * (dO V_j^T - D),
    dQ   += scale dS_j K_j,   dK_j += scale dS_j^T Q.

Causal masks and masks that block whole columns (key padding) skip the tiles
nobody can see and clip the others to their visible columns. A row allowed
to see nothing has l = 0: its output is 0 and its L is +inf, so every P it
recomputes is exp(-inf) = 0 and it passes no gradient. float16 is computed
in float32 and rounded once.
"""
import numpy as np

from ..core import Function
from .attention import _swap
from .softmax import _row_sum

# Tile sides (query rows, key columns), chosen by benchmarks/bench_attention_tiles.py.
BLOCK_Q, BLOCK_K = 128, 128


def _block(mask, rows, cols):
    """mask[..., rows, cols], keeping a side of size 1 that broadcasts."""
    r = slice(*rows) if mask.shape[-2] != 1 else slice(None)
    c = slice(*cols) if mask.shape[-1] != 1 else slice(None)
    return mask[..., r, c]


def key_tiles(bias, causal, rows, k_len, block_k):
    """The key ranges (start, stop) that query rows [rows) can see, tile by tile.

    Causal (top-left aligned, as PyTorch): row i sees keys 0..i, so no key at or
    past rows[1] is visited. A column that ``bias`` blocks (-inf) for every batch
    row, head and query of the tile (padding) is not needed: a tile holding no
    open column is skipped, the others are clipped to their first and last open one.
    """
    end = min(rows[1], k_len) if causal else k_len
    open_cols = None
    if bias is not None and bias.shape[-1] != 1:
        block = np.isneginf(_block(bias, rows, (0, end)))
        open_cols = ~block.all(axis=tuple(range(block.ndim - 1)))  # (end,)
    tiles = []
    for start in range(0, end, block_k):
        stop = min(start + block_k, end)
        if open_cols is not None:
            seen = np.flatnonzero(open_cols[start:stop])
            if not seen.size:
                continue
            start, stop = start + seen[0], start + seen[-1] + 1
        tiles.append((start, stop))
    return tiles


def _scores(q_rows, k, bias, causal, rows, cols):
    """S = Q_rows K_cols^T + B (-inf where causal forbids), one block; q comes scaled."""
    s = q_rows @ _swap(k[..., cols[0]:cols[1], :])   # (..., r, d) @ (..., d, c) -> (..., r, c)
    if bias is not None:
        s += _block(bias, rows, cols)
    if causal and cols[1] - 1 > rows[0]:            # the block crosses the diagonal
        # added as a (r, c) block of 0 and -inf: far cheaper than a boolean index into s
        future = np.arange(cols[0], cols[1]) > np.arange(rows[0], rows[1])[:, None]
        s += np.where(future, -np.inf, 0).astype(s.dtype)
    return s


def _safe_total(dtype):
    """A row whose terms exp(S - m) sum to at least this keeps full precision: its
    largest term is at least sqrt(tiny), tiny the smallest normal float (about
    e^-44 in float32), so its products with values down to sqrt(tiny) are normal too."""
    return np.sqrt(np.finfo(dtype).tiny)


def _online_softmax(q_rows, k, v, bias, causal, rows, tiles, per_row):
    """(acc, total, m) for one tile of query rows after visiting the key ``tiles``:
    acc = sum_j exp(S_j - m) V_j, total = sum_j rowsum(exp(S_j - m)), m the last shift.

    The shift m must be at least every score seen (exp cannot overflow) and,
    for precision, near each row's own max. ``per_row`` takes each row's running
    max; otherwise m is the running max of the whole block, one number (numpy
    reduces short rows one row at a time, and a scalar shift is a cheaper
    subtraction). The caller checks the totals and redoes the tile per row if a
    row fell too far below the block's max (or saw nothing).
    """
    m = np.array(-np.inf, q_rows.dtype)
    total = acc = np.zeros((), q_rows.dtype)
    for cols in tiles:
        s = _scores(q_rows, k, bias, causal, rows, cols)
        top = (s.max(axis=-1, keepdims=True, initial=-np.inf) if per_row  # initial: no rows
               else s.max(initial=-np.inf))
        m_new = np.maximum(m, top)
        shift = np.where(np.isneginf(m_new), 0, m_new)             # nothing seen yet: no shift
        s -= shift
        p = np.exp(s, out=s)
        rescale = np.exp(m - shift)                                 # a = exp(m - m')
        total = total * rescale + _row_sum(p)
        acc = acc * rescale + p @ v[..., cols[0]:cols[1], :]       # (..., r, c) @ (..., c, dv)
        m = m_new
    return acc, total, m


def _tiled_forward(q, k, v, bias, causal, lead, block_q, block_k):
    """(O, L): the attention output (..., Tq, dv) and the log-sum-exp (..., Tq, 1)."""
    q_len, k_len = q.shape[-2], k.shape[-2]
    out = np.zeros(lead + (q_len, v.shape[-1]), q.dtype)
    lse = np.full(lead + (q_len, 1), np.inf, q.dtype)           # +inf: a row seeing nothing
    for r0 in range(0, q_len, block_q):
        rows = (r0, min(r0 + block_q, q_len))
        q_rows = q[..., rows[0]:rows[1], :]
        tiles = key_tiles(bias, causal, rows, k_len, block_k)
        acc, total, m = _online_softmax(q_rows, k, v, bias, causal, rows, tiles, False)
        # some row far below the block's max, or seeing nothing
        if np.min(total, initial=np.inf) < _safe_total(q.dtype):
            acc, total, m = _online_softmax(q_rows, k, v, bias, causal, rows, tiles, True)
        seen = np.broadcast_to(total > 0, lead + (rows[1] - r0, 1))
        out[..., rows[0]:rows[1], :] = np.where(seen, acc / np.where(seen, total, 1), 0)
        lse[..., rows[0]:rows[1], :] = np.where(seen, m + np.log(np.where(seen, total, 1)),
                                                np.inf)
    return out, lse


class TiledAttention(Function):
    """out = softmax(scale * Q K^T + B) V, computed one (query tile, key tile) block at
    a time (the derivation is in this module's docstring and docs/tiled_attention.md).

    q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv), leading dims broadcasting;
    ``block_q`` x ``block_k`` the tile (query rows x keys);
    ``bias`` an additive mask broadcasting to (..., Tq, Tk) (-inf where blocked,
    an ndarray: it takes no gradient), or None; ``causal`` lets query i see keys
    0..i. Backward, with g = dL/dout, D = rowsum(g * out), P_j = exp(S_j - L):
        dV_j = sum_i P_ij^T g_i,   dS_ij = P_ij * (g_i V_j^T - D_i),
        dQ_i = scale sum_j dS_ij K_j,   dK_j = scale sum_i dS_ij^T Q_i
    """

    def forward(ctx, q, k, v, bias, causal, scale, block_q=BLOCK_Q, block_k=BLOCK_K):
        dtype = np.result_type(q, k, v)
        work = np.result_type(dtype, np.float32)   # float16 computed in float32
        lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2],
                                   () if bias is None else bias.shape[:-2])
        # q, k, v broadcast to the same leading dims (every block then has them all)
        # and each (T, d) matrix contiguous: the heads of MultiheadAttention arrive
        # as strided views (contiguous tiles make faster products).
        # S = (scale Q) K^T: one pass over Q, not one per block.
        q, k, v = (np.broadcast_to(a, lead + a.shape[-2:]) for a in (q, k, v))
        q = np.multiply(q, scale, dtype=work, order="C")
        k, v = (np.ascontiguousarray(a, dtype=work) for a in (k, v))
        if bias is not None:
            bias = bias.astype(work, copy=False)
        out, lse = _tiled_forward(q, k, v, bias, causal, lead, block_q, block_k)
        ctx.save_for_backward(q, k, v, bias, out, lse)
        ctx.causal, ctx.scale, ctx.blocks, ctx.lead = causal, scale, (block_q, block_k), lead
        return out.astype(dtype, copy=False)

    def backward(ctx, g):
        q, k, v, bias, out, lse = ctx.saved_tensors
        causal, scale, (block_q, block_k), lead = ctx.causal, ctx.scale, ctx.blocks, ctx.lead
        g = np.ascontiguousarray(g, dtype=out.dtype)
        d_row = np.einsum("...id,...id->...i", g, out)[..., None]   # D = rowsum(dO * O)
        q_len, k_len = q.shape[-2], k.shape[-2]
        dq = np.zeros(lead + q.shape[-2:], q.dtype)
        dk = np.zeros(lead + k.shape[-2:], q.dtype)
        dv = np.zeros(lead + v.shape[-2:], q.dtype)
        for r0 in range(0, q_len, block_q):
            rows = (r0, min(r0 + block_q, q_len))
            q_rows, g_rows = q[..., rows[0]:rows[1], :], g[..., rows[0]:rows[1], :]
            lse_rows, d_rows = lse[..., rows[0]:rows[1], :], d_row[..., rows[0]:rows[1], :]
            dq_rows = dq[..., rows[0]:rows[1], :]
            for cols in key_tiles(bias, causal, rows, k_len, block_k):
                k_cols, v_cols = k[..., cols[0]:cols[1], :], v[..., cols[0]:cols[1], :]
                s = _scores(q_rows, k, bias, causal, rows, cols)
                s -= lse_rows
                p = np.exp(s, out=s)                                  # P_j = exp(S_j - L)
                dv[..., cols[0]:cols[1], :] += _swap(p) @ g_rows      # (..., c, r) @ (..., r, dv)
                ds = g_rows @ _swap(v_cols)                           # dP_j = dO V_j^T
                ds -= d_rows
                ds *= p                                               # dS_j = P_j (dP_j - D)
                dq_rows += ds @ k_cols                                # (..., r, c) @ (..., c, d)
                # q_rows is scale Q: this is scale dS^T Q, (..., c, r) @ (..., r, d)
                dk[..., cols[0]:cols[1], :] += _swap(ds) @ q_rows
        dq *= scale
        return dq, dk, dv, None, None, None, None, None
