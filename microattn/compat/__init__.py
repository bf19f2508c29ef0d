"""What only PyTorch compatibility needs, in a layer of its own above the library.

The core never imports this package; importing it runs ``install()``, which
plugs it in through
``core.hooks`` (PyTorch's type promotion, version counters for in-place
writes, device objects) and binds PyTorch's other Tensor methods through
``ops.methods.bind``. ``microattn/__init__`` imports it, then re-exports the
names of ``names.py`` (dtypes, devices, constructors, function forms).
"""
from ..core import hooks
from ..ops.methods import bind
from . import dtypes, promotion, reduce, versions
from .printing import tensor_repr
from .convert import CONVERT_METHODS, CONVERT_PROPERTIES
from .indexing import getitem
from .inplace import INPLACE_METHODS
from .methods import COMPAT_METHODS
from .tensor_data import DATA_PROPERTY


def install():
    """Install the hooks and bind the methods."""
    hooks.promote = promotion.promote
    hooks.check_device = dtypes.check_device
    hooks.numpy_spelling = reduce.numpy_spelling
    versions.install()
    bind({**INPLACE_METHODS, **CONVERT_METHODS, **CONVERT_PROPERTIES, **COMPAT_METHODS,
          "__getitem__": getitem, "__repr__": tensor_repr, "data": DATA_PROPERTY,
          "_version": property(lambda t: versions.version(t._data), doc=(
              "How many in-place writes this tensor's memory has seen (shared with its "
              "views and detach()), as PyTorch's ``t._version``."))})


install()
