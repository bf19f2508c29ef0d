"""``torch.cuda`` as seen from a CPU-only library: no GPU is ever available.

PyTorch code asks before it uses a GPU (``'cuda' if torch.cuda.is_available()
else 'cpu'``), so these answers send it down its CPU path. Seeding is accepted
and changes nothing, as PyTorch's own ``torch.cuda.manual_seed`` does on a
machine without CUDA: there is no GPU generator to seed.
"""


def is_available():
    return False


def device_count():
    return 0


def is_bf16_supported():
    return False


def manual_seed(seed):
    """No GPU generator exists; the CPU one is seeded by ``ma.manual_seed``."""


manual_seed_all = manual_seed


def synchronize(device=None):
    """Nothing runs asynchronously on the CPU: there is nothing to wait for."""
