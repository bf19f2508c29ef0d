"""dtypes and devices with PyTorch's names.

A dtype object *is* the numpy dtype (``ma.float32 == np.dtype('float32')``), so
``x.dtype == ma.float32`` holds, and every ``dtype=`` argument, which goes
through ``np.dtype(...)``, takes ``ma.long`` as readily as ``np.int64`` or
``"int64"``. The one device is the CPU: ``ma.device("cpu")``; naming another
is allowed (PyTorch code builds ``torch.device("cuda")`` before asking for
it), but putting a tensor there raises.
"""
import numpy as np

float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)

# The names that would shadow Python's builtins in a module's namespace
# (ma.float, ma.int, ma.bool) are set by compat/names.py.

_KNOWN_DEVICES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:
    """A device name, as ``torch.device``: ``device("cpu")``, ``device("cuda", 0)``,
    ``device("cuda:0")``. Compares equal to its string; only "cpu" holds tensors."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if name not in _KNOWN_DEVICES:
            raise RuntimeError(f"Expected one of {', '.join(_KNOWN_DEVICES)} device type at "
                               f"start of device string: {type}")
        self.type = name
        self.index = int(number) if number else index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return (isinstance(other, device) and self.type == other.type
                and self.index == other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"


CPU = device("cpu")


def check_device(where, op="to"):
    """``where`` (a device, a string, an int or None) if it is the CPU; else a
    clear error: microattn computes on the CPU only, with numpy."""
    if where is None:
        return CPU
    if isinstance(where, int) and not isinstance(where, bool):
        where = device("cuda", where)
    where = device(where)
    if where.type != "cpu":
        raise RuntimeError(f"{op}: device '{where}' is not available: microattn runs on the "
                           "CPU only (numpy); use 'cpu'")
    return CPU
