"""What the command modules share: the one-line error, and opening a run folder."""
import sys


def fail(command, message):
    """Print ``microattn <command>: error: <message>`` on stderr; the exit code (2)."""
    print(f"microattn {command}: error: {message}", file=sys.stderr)
    return 2


def open_run(run_dir):
    """The trained run in ``run_dir`` through ``microattn.train.load_run`` (its model in
    eval mode, task, config and dir). Raises ValueError, saying why, when it cannot."""
    try:
        from ..train import load_run
    except ImportError:
        raise ValueError("reading a run folder needs microattn.train (load_run), which "
                         "this installation does not have") from None
    try:
        return load_run(run_dir)
    except (OSError, KeyError, ValueError) as error:
        raise ValueError(f"cannot open the run {run_dir}: {error}") from None
