"""Utilities with PyTorch's names: ``microattn.utils.data`` (``torch.utils.data``)."""
from . import data

__all__ = ["data"]
