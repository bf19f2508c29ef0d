"""repr(tensor) as PyTorch prints it (compat/printing.py)."""
import pytest

import microattn as ma


torch = pytest.importorskip("torch")


def test_repr_matches_pytorch():
    for make in (lambda lib: lib.tensor([1.5, 2.0]), lambda lib: lib.tensor([1.0, 2.0]),
                 lambda lib: lib.tensor([1e-5, 1.0]), lambda lib: lib.tensor([123456.7, 1.0]),
                 lambda lib: lib.tensor(3.25), lambda lib: lib.tensor([[1.5, 2.0], [3.0, 4.0]]),
                 lambda lib: lib.tensor([1, 2]), lambda lib: lib.tensor([True, False]),
                 lambda lib: lib.tensor([float("inf"), float("nan"), 1.5]),
                 lambda lib: lib.tensor([1.0], requires_grad=True) * 2,
                 lambda lib: lib.zeros(0), lambda lib: lib.arange(2000),
                 lambda lib: lib.arange(3000.0).reshape(3, 1000),
                 lambda lib: lib.arange(3000.0).reshape(1000, 3)):
        assert repr(make(ma)) == repr(make(torch))
