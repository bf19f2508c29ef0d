"""dtype promotion follows PyTorch's rules, for every pair in a table, and each op is one hop."""
import itertools

import numpy as np
import pytest

import microattn as ma
from microattn import functional as F

torch = pytest.importorskip("torch")

DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]


def operands():
    """(label, microattn operand, torch operand): tensors of each dtype, 0-d tensors and
    Python numbers."""
    values = np.array([[1, 2], [3, 1]])
    for name in DTYPES:
        array = values.astype(name)
        yield name, ma.tensor(array), torch.tensor(array)
        yield f"0-d {name}", ma.tensor(array[0, 0]), torch.tensor(array[0, 0])
    for number in (2, 2.5, True):
        yield repr(number), number, number


BINARY = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}


def torch_dtype(fn, a, b):
    try:
        return str(fn(a, b).dtype).replace("torch.", "")
    except RuntimeError:  # a pair torch refuses (e.g. bool ** bool)
        return None


@pytest.mark.parametrize("op", list(BINARY) + ["where"])
def test_binary_result_dtypes_match_torch(op):
    checked = 0
    for (la, a, ta), (lb, b, tb) in itertools.product(list(operands()), repeat=2):
        if not isinstance(a, ma.Tensor) and not isinstance(b, ma.Tensor):
            continue
        if op == "where":
            condition = ma.tensor([[True, False], [False, True]])
            ours = ma.where(condition, a, b)
            theirs = torch_dtype(lambda x,
                                 y: torch.where(torch.tensor(condition.detach().numpy()), x, y),
                                 ta, tb)
        else:
            theirs = torch_dtype(BINARY[op], ta, tb)
            if op == "pow" and theirs == "bool":
                continue  # bool ** bool: numpy gives int8 and we leave it so

            ours = BINARY[op](a, b)
        if theirs is None:
            continue
        assert str(ours.dtype) == theirs, f"{op}({la}, {lb}): {ours.dtype}, torch {theirs}"
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid"])
def test_unary_float_ops_give_torch_dtypes(name):
    for dtype in ["float16", "float32", "float64", "int32", "int64", "bool"]:
        array = np.array([1, 2]).astype(dtype)
        ours = getattr(ma, name)(ma.tensor(array))
        theirs = getattr(torch, name)(torch.tensor(array))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (name, dtype)


def test_gelu_softmax_and_layer_norm_keep_float16():
    x = ma.tensor(np.linspace(-3, 3, 8).astype(np.float16), requires_grad=True)
    for y in (F.gelu(x), F.gelu(x, approximate="tanh"), x.softmax(-1), x.log_softmax(-1)):
        assert y.dtype == np.float16
    y = F.gelu(x)
    y.sum().backward()
    assert np.asarray(x.grad).dtype == np.float16


def test_mixed_float_operands_give_each_its_own_gradient_dtype():
    a = ma.tensor([1.0, 2.0], requires_grad=True)                    # float32
    b = ma.tensor(np.array([3.0, 4.0]), requires_grad=True)           # float64
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert np.asarray(a.grad).dtype == np.float32 and np.asarray(b.grad).dtype == np.float64
    np.testing.assert_allclose(np.asarray(a.grad), [3.0, 4.0])


def test_one_hop_from_method_operator_and_function_to_apply():
    from microattn.ops.elementwise import Add, Exp
    assert ma.Tensor.exp is Exp.apply and ma.exp is Exp.apply
    assert ma.Tensor.__add__ is Add.apply and ma.add is Add.apply


def test_set_and_get_num_threads():
    before = ma.get_num_threads()
    try:
        ma.set_num_threads(1)
        assert ma.get_num_threads() == 1
    finally:
        ma.set_num_threads(before)
    with pytest.raises(ValueError, match="positive int"):
        ma.set_num_threads(0)
