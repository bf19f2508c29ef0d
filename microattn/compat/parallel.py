"""``torch.nn.parallel`` for scripts that import it: data parallelism needs
several devices or processes, and microattn has one CPU process, so making
a DataParallel or DistributedDataParallel raises one clear error (use the
module itself)."""


def _refuse(name):
    raise RuntimeError(f"torch.nn.parallel.{name}: microattn runs on one CPU in one "
                       "process; call the module itself instead")


class _Unavailable:
    def __init__(self, *args, **kwargs):
        _refuse(type(self).__name__)


class DataParallel(_Unavailable):
    """Refused on use: see the module docstring."""


class DistributedDataParallel(_Unavailable):
    """Refused on use: see the module docstring."""


def data_parallel(module, inputs, *args, **kwargs):
    _refuse("data_parallel")
