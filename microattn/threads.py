"""How many threads numpy's BLAS (matmul) uses: one, unless you say otherwise.

The toy models this library trains multiply small matrices, where a second
BLAS thread saves little and, on a busy 2-core machine, costs a lot: its
threads spin waiting for a core, and a small GPT step measured 18 times
slower on 2 OpenBLAS threads than on 1. So importing microattn limits BLAS to
one thread (through threadpoolctl, at run time), unless OPENBLAS_NUM_THREADS,
MKL_NUM_THREADS or OMP_NUM_THREADS is set, which is then obeyed.
``set_num_threads(n)`` overrides, as ``torch.set_num_threads``.
"""
import os

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # an install without it: numpy's BLAS keeps its own default
    threadpool_info = threadpool_limits = None

_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def set_num_threads(n):
    """Use ``n`` BLAS threads for matrix products from now on."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    if threadpool_limits is None:
        raise RuntimeError("set_num_threads needs the threadpoolctl package "
                           "(pip install threadpoolctl)")
    threadpool_limits(limits=n, user_api="blas")


def get_num_threads():
    """The number of BLAS threads matrix products use (1 if numpy's BLAS is unknown)."""
    if threadpool_info is None:
        raise RuntimeError("get_num_threads needs the threadpoolctl package "
                           "(pip install threadpoolctl)")
    pools = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(pools) if pools else 1


if threadpool_limits is not None and not any(name in os.environ for name in _ENVIRONMENT):
    set_num_threads(1)
