"""One process at a time in a run folder: ``train`` and ``--resume`` hold an
exclusive lock on ``DIR/.lock`` while they write there. The lock is the
operating system's (``fcntl.flock``), so it ends with the process, even killed
with ``kill -9``; the file itself stays and means nothing on its own."""
import os

try:
    import fcntl
except ImportError:          # pragma: no cover - Windows: no locking there
    fcntl = None

LOCK = ".lock"


class RunLocked(ValueError):
    """Another process holds the run folder's lock."""


def lock_run(directory):
    """Take ``directory``'s lock for the life of this process (or until ``unlock``);
    returns the open file that holds it. RunLocked when another process has it."""
    path = os.path.join(directory, LOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            pid = f" (process {holder})" if holder.isdigit() else ""
            raise RunLocked(f"another microattn is training in {directory}{pid}; wait for it "
                            f"to end, or train into another --out") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
    return fd


def unlock(fd):
    os.close(fd)   # closing the file releases the flock
