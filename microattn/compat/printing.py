"""``repr(tensor)`` as PyTorch prints it: ``tensor([1.5000, 2.0000])``,
``tensor([1., 2.])``, ``tensor([1.0000e-05, 1.0000e+00])``, with
``grad_fn=<MulBackward0>`` or ``requires_grad=True`` after the values.

Floats use one format for the whole tensor, chosen as PyTorch's formatter
chooses: whole numbers print as ``1.``; otherwise four decimals, or
scientific notation when the finite magnitudes span more than 1000x, exceed
1e8 or go below 1e-4. Every entry is padded to the widest one.
"""
import numpy as np

from ..core.dtype import get_default_dtype


def _float_format(data):
    finite = np.abs(data[np.isfinite(data)]).astype(np.float64)
    nonzero = finite[finite != 0]
    if finite.size and np.all(np.ceil(finite) == finite):  # whole numbers
        if nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8):
            return "{:.4e}"
        return "{:.0f}."
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8
                         or nonzero.min() < 1e-4):
        return "{:.4e}"
    return "{:.4f}"


def _format_number(fmt, value):
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return fmt.format(value)


def format_values(data):
    """The values part: ``[1.5000, 2.0000]`` (summarised past 1000 elements)."""
    kwargs = dict(separator=", ", prefix="tensor(", max_line_width=80, threshold=1000,
                  edgeitems=3)
    if data.dtype.kind == "f" and data.size:
        fmt = _float_format(data)
        shown = data if data.size <= 1000 else np.concatenate(
            [data.reshape(-1)[:3], data.reshape(-1)[-3:]])
        width = max(len(_format_number(fmt, v)) for v in shown.reshape(-1).tolist())
        kwargs["formatter"] = {"float_kind": lambda v: _format_number(fmt, v).rjust(width)}
    if data.dtype == np.bool_ and data.size:
        width = 5 if not data.all() else 4
        kwargs["formatter"] = {"bool": lambda v: str(v).rjust(width)}
    # PyTorch sets the summary's "..." one space further from the numbers before it
    return np.array2string(data, **kwargs).replace(", ..., ", ",  ..., ")


def tensor_repr(tensor):
    """``repr(tensor)``, bound as ``Tensor.__repr__``."""
    data, grad_fn = tensor._data, tensor.grad_fn
    extras = []
    if data.size == 0 and data.ndim != 1:
        extras.append(f"size={tuple(data.shape)}")
    if (data.dtype.kind == "f" and data.dtype != get_default_dtype()) or (
            data.dtype.kind in "iuc" and data.dtype != np.int64):
        extras.append(f"dtype={data.dtype}")
    if grad_fn is not None:
        extras.append(f"grad_fn=<{grad_fn.name()}0>")
    elif tensor.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + format_values(data) + "".join(", " + e for e in extras) + ")"
