"""Sizes checked against memory before anything is allocated: a ``--d-model`` or
``--batch-size`` or ``MAX_LEN`` too large for the machine is one line up front,
not minutes of silence and then a MemoryError somewhere else.

The estimate, in float32 numbers (4 bytes), for width d, feed-forward f, heads h,
L layers (twice, and a cross-attention each, for seq2seq), vocabulary V,
positions T and batch B::

    weights  W = 2 V d + T d + L' (4 d^2 + 2 d f)          L' = L, or 3 L for seq2seq
    training   4 W                                         weights, gradients, Adam's m, v
    activations  B L' (T (12 d + 2 f) + 3 h T^2)           kept for backward

It is a rough upper bound (the engine frees what backward no longer needs); a
run is refused only when it exceeds the memory available.
"""
import os

from .run_error import RunError

BYTES = 4


def estimate_bytes(task, config, batch=None):
    """Bytes a training step of ``config`` on ``task`` needs, roughly (see above)."""
    d, f, h, vocab = config.d_model, config.ff, config.heads, len(task.tokenizer)
    layers = config.layers * (3 if task.kind == "seq2seq" else 1)
    positions = task.model_max_len
    batch = config.batch_size if batch is None else batch
    weights = 2 * vocab * d + positions * d + layers * (4 * d * d + 2 * d * f)
    activations = batch * layers * (positions * (12 * d + 2 * f) + 3 * h * positions ** 2)
    return BYTES * (4 * weights + activations)


def available_bytes():
    """Memory this process can still use: MemAvailable on Linux, else physical memory;
    None when the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n):
    return f"{n / 2**30:,.1f} GB"


def check_memory(task, config):
    """RunError, in one line, when ``config`` on ``task`` would not fit in memory."""
    needed, free = estimate_bytes(task, config), available_bytes()
    if free is not None and needed > free:
        raise RunError(
            f"d_model {config.d_model}, ff {config.ff}, {config.layers} layers, batch "
            f"{config.batch_size} and {task.model_max_len} positions (MAX_LEN) need about "
            f"{_gb(needed)} of memory; {_gb(free)} is available: choose smaller sizes")
