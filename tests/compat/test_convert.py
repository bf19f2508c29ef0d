"""dtype objects, devices, casts and 0-d tensors as Python numbers (compat/convert.py, compat/dtypes.py)."""
import numpy as np
import pytest

import microattn as ma
from microattn import nn


torch = pytest.importorskip("torch")


def grad_array(t):
    return np.asarray(t.grad)


def raises_like_torch(ours, theirs, match):
    """Both calls raise; ours the same exception type as PyTorch's, with ``match``."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value), match=match):
        ours()


def test_dtype_objects_work_everywhere_dtype_is_taken():
    assert ma.ones(2).dtype == ma.float32 == ma.float
    assert ma.zeros(2, dtype=ma.long).dtype == np.int64 == ma.int64
    assert ma.tensor([1, 2], dtype=ma.float64).dtype == ma.double
    assert ma.arange(3, dtype=ma.int32).dtype == ma.int32 == ma.int
    assert ma.full((2,), True, dtype=ma.bool).dtype == np.bool_
    assert ma.randn(2, dtype=ma.float16).dtype == ma.half
    assert ma.tensor([0.5]).to(ma.float64).dtype == ma.float64


def test_one_device_the_cpu_and_a_clear_error_for_others():
    t = ma.ones(2)
    assert t.device == ma.device("cpu") == "cpu" and t.device.type == "cpu"
    assert t.to("cpu") is t and t.cpu() is t and t.to(ma.device("cpu")) is t
    for bad in (lambda: t.to("cuda"), lambda: ma.zeros(2, device="cuda:0"), lambda: t.cuda(),
                lambda: nn.Linear(2, 2).to("cuda"), lambda: t.to("mps")):
        with pytest.raises(RuntimeError, match="CPU only"):
            bad()
    assert not ma.cuda.is_available()


def test_to_casts_keep_the_graph_for_floats_and_leave_it_for_integers():
    x = ma.tensor([1.5, 2.5], requires_grad=True)
    y = x.to(ma.float64)
    assert y.requires_grad and y.dtype == ma.float64
    y.sum().backward()
    assert grad_array(x).dtype == np.float32
    assert not x.long().requires_grad and x.long().dtype == np.int64
    assert x.type_as(ma.tensor([1])).dtype == np.int64


def test_zero_d_tensors_act_as_python_numbers():
    assert int(ma.tensor(3)) == 3 and float(ma.tensor(2.5)) == 2.5
    assert bool(ma.tensor(1.0)) and not bool(ma.tensor(0))
    assert f"{ma.tensor(3.14159):.2f}" == f"{torch.tensor(3.14159):.2f}" == "3.14"
    t = ma.tensor(2)
    assert [0, 1, 2, 3][t] == 2 and list(range(10))[t:t + 3] == [2, 3, 4]
    with pytest.raises(TypeError):
        [0, 1][ma.tensor(1.0)]


def test_iterating_a_0d_tensor_is_a_type_error():
    raises_like_torch(lambda: list(ma.tensor(1.0)), lambda: list(torch.tensor(1.0)),
                      "iteration over a 0-d tensor")


def test_iterating_gives_the_rows_with_gradient():
    x = ma.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(np.asarray(rows[1].detach().numpy()), [2.0, 3.0])
    (rows[0].sum() + 2 * rows[2].sum()).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [[1, 1], [0, 0], [2, 2]])
    assert list(ma.zeros(0, 3)) == []


@pytest.mark.parametrize("element", [2.0, 1.0, 1, True], ids=["2.0", "1.0", "1", "True"])
@pytest.mark.parametrize("shape", [(2, 2), (3,), ()])
def test_membership_looks_at_every_entry_as_pytorch(element, shape):
    assert (element in ma.ones(shape)) == (element in torch.ones(shape))
    assert (ma.tensor(1.0) in ma.ones(shape)) == (torch.tensor(1.0) in torch.ones(shape))


def test_membership_of_a_list_is_refused_as_pytorch():
    raises_like_torch(lambda: [1.0] in ma.ones(2), lambda: [1.0] in torch.ones(2),
                      r"__contains__ only supports Tensor or scalar")
