"""celu, selu, softsign, hardtanh, relu6, hardsigmoid, hardswish, mish: values and
gradients against PyTorch in float64 (functional and module forms), kinks included."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import microattn as ma
from microattn import functional as F, nn

from helpers import torch_parity

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = {  # name -> keyword arguments to try beside the defaults
    "celu": {"alpha": 0.7}, "selu": {}, "softsign": {}, "hardtanh": {"min_val": -0.5,
                                                                     "max_val": 2.0},
    "relu6": {}, "hardsigmoid": {}, "hardswish": {}, "mish": {},
}
MODULES = {"celu": "CELU", "selu": "SELU", "softsign": "Softsign", "hardtanh": "Hardtanh",
           "relu6": "ReLU6", "hardsigmoid": "Hardsigmoid", "hardswish": "Hardswish",
           "mish": "Mish"}
# PyTorch computes some constants in float32 even for float64 tensors: celu's 1 / alpha
# (gradient 1e-7 off at -5 for alpha 0.7) and hardsigmoid's slope 1/6
RTOL = {"celu": 3e-6, "hardsigmoid": 1e-7}
# the kinks of the piecewise ones, where the gradient is a convention
KINKS = np.array([-3.0, -1.0, -0.5, 0.0, 2.0, 3.0, 6.0, 25.0, -25.0])


@pytest.mark.parametrize("name", sorted(CASES))
@given(x=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)),
                elements=st.floats(-8, 8)))
def test_functional_matches_pytorch_values_and_gradients(name, x):
    for kwargs in ({}, CASES[name]):
            torch_parity(lambda t: getattr(F, name)(t, **kwargs),
                     lambda t: getattr(TF, name)(t, **kwargs), [x],
                     rtol=RTOL.get(name, 1e-12), atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_at_the_kinks_are_pytorchs(name):
    torch_parity(lambda t: getattr(F, name)(t), lambda t: getattr(TF, name)(t), [KINKS],
                 rtol=RTOL.get(name, 1e-12), atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_module_form_and_gradcheck(name):
    rng = np.random.default_rng(0)
    x = rng.uniform(-5, 5, (3, 4))
    kwargs = CASES[name]
    ours, theirs = getattr(nn, MODULES[name])(**kwargs), getattr(torch.nn, MODULES[name])(
        **kwargs)
    torch_parity(ours, theirs, [x], rtol=RTOL.get(name, 1e-12), atol=1e-14)
    assert repr(ours).startswith(MODULES[name])
    assert ma.gradcheck(ours, [ma.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("name", ["celu", "selu", "hardtanh", "relu6", "hardsigmoid",
                                  "hardswish", "mish"])
def test_inplace_writes_the_input(name):
    x = ma.tensor([-4.0, -1.0, 0.5, 4.0, 7.0])
    expected = getattr(TF, name)(torch.tensor(x.detach().numpy().copy())).numpy()
    out = getattr(F, name)(x, inplace=True)
    assert out is x
    np.testing.assert_allclose(x.detach().numpy(), expected, rtol=1e-6)


def test_float32_stays_float32_and_names_are_listed():
    x = ma.randn(3)
    assert all(getattr(F, n)(x).dtype == np.float32 for n in CASES)
    assert set(CASES) <= set(F.__all__) and set(MODULES.values()) <= set(nn.__all__)
