"""``microattn.utils.data`` is PyTorch's ``torch.utils.data`` (microattn/compat/data.py)."""
import sys

from ..compat import data

sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
