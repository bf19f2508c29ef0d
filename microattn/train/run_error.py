"""The error of a run that cannot be made, opened or trained as asked: bad input,
reported by the command line in one line (exit 2)."""


class RunError(ValueError):
    """A run folder that is missing, corrupt, locked, or does not match its config,
    or a run too large for this machine's memory."""
