"""Files written so that a reader sees the old file or the new one, never half of one.

Every file the library writes (checkpoints, configs, metrics, exports, pictures,
reports) goes through :func:`atomic_path`: a temporary file beside the target,
flushed to disk, then moved onto it with ``os.replace``.
"""
import contextlib
import os
import secrets
import stat


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (named ``.NAME.XXXX.tmp``) to write to.

    When the block ends without error the file is fsynced, given the permission
    bits of the file it replaces, moved onto ``path`` and the directory fsynced.
    On any error or interruption (KeyboardInterrupt too) the temporary file is
    removed and ``path`` is left as it was; an OSError names ``path`` (not the
    temporary file) as its ``filename``. Writers that pick a format from the
    file's suffix must name the format, since the temporary name ends in ``.tmp``.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    mode = _existing_mode(path)
    # Created private when it replaces a file, so the data is never readable more
    # widely than the old file was; given the old bits before the move.
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o666 if mode is None else 0o600))
        yield temporary
        if mode is not None:
            os.chmod(temporary, mode)
        fd = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):   # not made, or the disk went read-only
            os.unlink(temporary)
        if error.errno is not None and error.filename in (None, temporary):   # name the target
            raise OSError(error.errno, error.strerror, path) from error
        raise
    except BaseException:
        with contextlib.suppress(OSError):   # not made, or the disk went read-only
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def write_atomic(path, data):
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically; returns ``path``."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            f.write(payload)
    return os.fspath(path)


def _existing_mode(path):
    """The permission bits of the file at ``path``, or None if there is none."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _fsync_directory(directory):
    """Make the rename durable. Some systems cannot open or fsync a directory
    (Windows, some network filesystems); there the rename is all we can do."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
