"""torch.LongTensor / FloatTensor / BoolTensor ...: constructors and isinstance, as PyTorch's."""
import numpy as np
import pytest

import microattn as ma

torch = pytest.importorskip("torch")
NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "BoolTensor",
         "ByteTensor"]


@pytest.mark.parametrize("name", NAMES)
def test_constructors_match_pytorch(name):
    for args in ([[1, 0, 2]], [[[1.5, 0.0]]], [2, 3], [], [np.array([1, 0])]):
        ours, theirs = getattr(ma, name)(*args), getattr(torch, name)(*args)
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        if args and not isinstance(args[0], int):
            np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_isinstance_asks_for_the_dtype(name):
    for dtype in ("float32", "float64", "float16", "int64", "int32", "bool", "uint8"):
        ours = ma.zeros(2, dtype=dtype)
        theirs = torch.zeros(2, dtype=getattr(torch, dtype))
        assert isinstance(ours, getattr(ma, name)) == isinstance(theirs, getattr(torch, name))
    assert not isinstance(np.zeros(2), getattr(ma, name))


def test_bad_arguments_raise_type_errors_as_pytorch():
    for args in ((3.5,), (ma.tensor([1.5]),)):
        with pytest.raises(TypeError):
            ma.LongTensor(*args)
        with pytest.raises(TypeError):
            torch.LongTensor(*[torch.tensor(a.detach().numpy()) if isinstance(a, ma.Tensor) else a
                               for a in args])
    t = ma.tensor([1, 2])
    assert ma.LongTensor(t) is t
