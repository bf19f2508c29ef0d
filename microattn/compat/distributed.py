"""``torch.distributed`` for scripts that import it: microattn runs in one process
on one CPU, so ``is_available()`` is False, as on a PyTorch build without it,
and ``is_initialized()`` is False. Anything else raises one clear error."""


def is_available():
    return False


def is_initialized():
    return False


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise RuntimeError(f"torch.distributed.{name}: microattn runs in one process; "
                       "distributed training is not available (is_available() is False)")
