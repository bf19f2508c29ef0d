"""Running the real ``microattn`` command in a subprocess, and what every case of
tests/cli asserts: one line on stderr, the exit code, nothing of the user's lost."""
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A tiny model, no pictures: fast runs whose folders the commands can open.
TINY = ["--d-model", "16", "--heads", "2", "--layers", "1", "--ff", "32", "--batch-size", "8",
        "--no-pictures"]


def microattn(*args, timeout=300, env=None, check=False, cwd=None):
    """``python -m microattn ARGS``: the CompletedProcess."""
    done = subprocess.run([sys.executable, "-m", "microattn", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=None if env is None else {**os.environ, **env})
    if check:
        assert done.returncode == 0, done.stderr
    return done


def start(*args, env=None, stdin=None):
    """``python -m microattn ARGS`` in the background (its own process group)."""
    return subprocess.Popen([sys.executable, "-m", "microattn", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=stdin, env=None if env is None else {**os.environ, **env})


def one_line(done, code, *words):
    """The command failed with exit ``code`` and one line on stderr holding ``words``,
    no traceback. Returns the line."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and lines[0].startswith("microattn"), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def snapshot(folder):
    """{relative path: sha256} of every file under ``folder``: what must not change."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def temporary_files(folder):
    return [p.name for p in Path(folder).rglob("*.tmp")]


def wait_for(condition, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def interrupt(process, times=1, gap=0.5, timeout=120):
    """Send SIGINT ``times`` times, ``gap`` seconds apart; (stdout, stderr) at its end."""
    for i in range(times):
        if i:
            time.sleep(gap)
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=timeout)
    finally:
        process.kill()


@contextlib.contextmanager
def mounted_tmpfs(path, size="256k", read_only=False):
    """A real small (or read-only) filesystem at ``path``: tmpfs, mounted as root.
    Root ignores permission bits, so chmod cannot make a read-only place for root; a
    mount can. Skipped where mounting is not allowed (never under CI=true)."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        if os.environ.get("CI"):
            raise RuntimeError(f"cannot mount a tmpfs for the disk-fault tests: {done.stderr}")
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
