"""nn.LazyLinear: in_features from the first call, then a Linear, as PyTorch's."""
import numpy as np
import pytest

import microattn as ma
from microattn import nn

torch = pytest.importorskip("torch")


def test_first_call_fixes_the_shape_and_the_module_becomes_a_linear():
    ma.manual_seed(0)
    layer = nn.LazyLinear(3)
    weight = layer.weight
    assert isinstance(weight, nn.UninitializedParameter) and layer.has_uninitialized_params()
    y = layer(ma.randn(2, 5))
    assert y.shape == (2, 3) and type(layer) is nn.Linear and layer.in_features == 5
    assert layer.weight is weight and type(weight) is nn.Parameter
    assert np.abs(layer.weight.detach().numpy()).max() <= 1 / np.sqrt(5) and layer.weight.detach().numpy().std() > 0.1
    theirs = torch.nn.LazyLinear(3)
    theirs(torch.randn(2, 5))
    assert type(theirs) is torch.nn.Linear and repr(layer) == repr(theirs)


def test_values_and_gradients_match_pytorch_from_the_same_weights():
    layer, theirs = nn.LazyLinear(4, bias=False).double(), torch.nn.LazyLinear(4, bias=False)
    x = np.random.default_rng(0).standard_normal((3, 6))
    theirs(torch.tensor(x, dtype=torch.float32))
    layer.load_state_dict({k: v.double().numpy() for k, v in theirs.state_dict().items()})
    theirs.double()
    xm, xt = ma.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    layer(xm).pow(2).sum().backward()
    theirs(xt).pow(2).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    assert ma.gradcheck(layer, [ma.tensor(x, requires_grad=True)])


def test_a_state_dict_loaded_before_the_first_call_gives_the_shapes():
    layer = nn.LazyLinear(2)
    layer.load_state_dict({"weight": np.ones((2, 7)), "bias": np.zeros(2)})
    assert type(layer) is nn.Linear and layer.weight.shape == (2, 7)
    np.testing.assert_array_equal(layer(ma.ones(1, 7)).detach().numpy(), [[7.0, 7.0]])
