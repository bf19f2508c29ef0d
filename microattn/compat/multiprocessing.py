"""``torch.multiprocessing``: Python's own multiprocessing under PyTorch's name.

PyTorch's module is Python's, plus sharing tensors' memory between processes;
microattn tensors are numpy arrays and pass between processes by pickling
(copied, not shared). ``spawn`` starts ``fn(i, *args)`` in ``nprocs`` processes
and waits for them, as torch.multiprocessing.spawn does.
"""
import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403 (Process, Queue, Pool, get_context, ...)


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for i in 0..nprocs-1, each in a new process; with
    ``join``, wait and raise if one failed."""
    context = _mp.get_context(start_method)
    processes = [context.Process(target=fn, args=(i, *args), daemon=daemon)
                 for i in range(nprocs)]
    for p in processes:
        p.start()
    if not join:
        return processes
    for p in processes:
        p.join()
    failed = [i for i, p in enumerate(processes) if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"torch.multiprocessing.spawn: process(es) {failed} exited with "
                           f"codes {[processes[i].exitcode for i in failed]}")
    return None
