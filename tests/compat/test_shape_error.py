"""Shapes that do not fit raise ShapeError: a RuntimeError, as PyTorch's, and a
ValueError, as numpy's; the message names the op and the shapes."""
import pytest

import microattn as ma
from microattn import nn, functional as F
from microattn.core.errors import ShapeError

torch = pytest.importorskip("torch")

CASES = {  # PyTorch raises RuntimeError for each
    "broadcast": ("lib.ones(2, 3) + lib.ones(4, 3)", "Add((2, 3), (4, 3))"),
    "matmul": ("lib.ones(2, 3) @ lib.ones(4, 3)", "Matmul((2, 3), (4, 3))"),
    "reshape": ("lib.ones(2, 3).reshape(7)", "Reshape((2, 3), (7,))"),
    "cat": ("lib.cat([lib.ones(2, 3), lib.ones(2, 2)], 0)", "Cat"),
    "linear": ("lib.nn.Linear(4, 2)(lib.ones(2, 3))", "linear: input of shape (2, 3)"),
    "layer_norm": ("lib.nn.functional.layer_norm(lib.ones(2, 3), (4,))",
                   "layer_norm: input of shape (2, 3)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_mismatch_is_a_runtime_error_and_a_value_error(name):
    code, message = CASES[name]
    with pytest.raises(RuntimeError):
        eval(code, {"lib": torch})
    with pytest.raises(ShapeError) as caught:
        eval(code, {"lib": ma})
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, ValueError)
    assert message in str(caught.value)


def test_user_code_catching_runtime_error_catches_it():
    try:
        nn.MultiheadAttention(4, 2)(ma.ones(3, 1, 4), ma.ones(3, 1, 4), ma.ones(2, 1, 4))
    except RuntimeError as error:
        assert "MultiheadAttention" in str(error)
    else:
        pytest.fail("no error")
    with pytest.raises(ValueError):  # numpy-style code keeps working
        F.linear(ma.ones(2, 3), ma.ones(2, 4))
