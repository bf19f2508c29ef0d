"""nn.init against PyTorch's formulas: gains, fans, bounds and spreads of the samples."""
import math

import numpy as np
import pytest

import microattn as ma
from microattn import nn
from microattn.nn import init

torch = pytest.importorskip("torch")

# 60,000 samples: the sample std is within ~0.3% of the true one (one sigma), the
# largest |sample| of a uniform within 0.01% of its bound (with near certainty).
SHAPE = (200, 300)
SPREAD_RTOL = 0.02


def blank(shape=SHAPE, dtype=np.float64):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def assert_uniform(samples, bound):
    samples = np.asarray(samples)
    assert np.abs(samples).max() <= bound
    assert np.abs(samples).max() > 0.999 * bound
    assert abs(samples.std() - bound / math.sqrt(3)) < SPREAD_RTOL * bound / math.sqrt(3)
    assert abs(samples.mean()) < 0.02 * bound


def assert_normal(samples, std, mean=0.0):
    samples = np.asarray(samples)
    assert abs(samples.std() - std) < SPREAD_RTOL * std
    assert abs(samples.mean() - mean) < 0.02 * std


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("sigmoid", None), ("conv2d", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_calculate_gain_rejects_unknown_input():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(5, 3), (1, 7), (4, 3, 2, 5)])
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(blank(shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape)) == fans(shape)


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(blank((5,)))


@pytest.mark.parametrize("shape", [SHAPE, (64, 32, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier_uniform_bound(shape, gain):
    fan_in, fan_out = fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    assert_uniform(init.xavier_uniform_(blank(shape), gain=gain).detach().numpy(), bound)
    assert_uniform(torch.nn.init.xavier_uniform_(torch.empty(shape), gain=gain), bound)


def test_xavier_normal_std():
    fan_in, fan_out = fans(SHAPE)
    std = 1.5 * math.sqrt(2.0 / (fan_in + fan_out))
    assert_normal(init.xavier_normal_(blank(), gain=1.5).detach().numpy(), std)
    assert_normal(torch.nn.init.xavier_normal_(torch.empty(SHAPE), gain=1.5), std)


@pytest.mark.parametrize("a, mode, nonlinearity", [
    (0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
    (0, "fan_out", "relu"), (0.1, "fan_out", "leaky_relu"), (0, "fan_in", "tanh")])
def test_kaiming_uniform_bound(a, mode, nonlinearity):
    fan_in, fan_out = fans(SHAPE)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = torch.nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    assert_uniform(init.kaiming_uniform_(blank(), a, mode, nonlinearity).detach().numpy(), bound)
    assert_uniform(torch.nn.init.kaiming_uniform_(torch.empty(SHAPE), a, mode, nonlinearity),
                   bound)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_normal_std(mode):
    fan_in, fan_out = fans(SHAPE)
    std = math.sqrt(2.0) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    assert_normal(init.kaiming_normal_(blank(), mode=mode, nonlinearity="relu").detach().numpy(),
                  std)
    assert_normal(torch.nn.init.kaiming_normal_(torch.empty(SHAPE), mode=mode,
                                                nonlinearity="relu"), std)


def test_kaiming_rejects_bad_mode():
    with pytest.raises(ValueError, match="fan_in' or 'fan_out"):
        init.kaiming_uniform_(blank(), mode="fan_avg")


def test_simple_fills():
    assert_uniform(init.uniform_(blank(), -3.0, 3.0).detach().numpy(), 3.0)
    shifted = init.uniform_(blank(), 2.0, 4.0).detach().numpy()
    assert shifted.min() >= 2.0 and shifted.max() < 4.0
    assert_normal(init.normal_(blank(), mean=1.0, std=0.02).detach().numpy(), 0.02, mean=1.0)
    np.testing.assert_array_equal(init.constant_(blank((2, 3)), 0.5).detach().numpy(),
                                  np.full((2, 3), 0.5))
    np.testing.assert_array_equal(init.ones_(blank((2, 3))).detach().numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(init.zeros_(init.ones_(blank((3,)))).detach().numpy(),
                                  np.zeros(3))


def test_in_place_keeps_object_dtype_and_leaf():
    t = blank((4, 5), dtype=np.float32)
    array = t.detach().numpy()
    assert init.xavier_uniform_(t) is t
    assert t.detach().numpy() is array and t.dtype == np.float32
    assert t.is_leaf and t.grad_fn is None and t.requires_grad


def test_seeded_draws_repeat():
    ma.manual_seed(7)
    first = init.kaiming_normal_(blank((3, 4))).detach().numpy().copy()
    ma.manual_seed(7)
    np.testing.assert_array_equal(init.kaiming_normal_(blank((3, 4))).detach().numpy(), first)


def test_layer_default_initialisation_matches_torch():
    ma.manual_seed(0)
    linear = nn.Linear(SHAPE[1], SHAPE[0])
    bound = 1 / math.sqrt(SHAPE[1])  # kaiming_uniform_(a=sqrt(5)) in PyTorch's Linear
    assert_uniform(linear.weight.detach().numpy(), bound)
    assert_uniform(torch.nn.Linear(SHAPE[1], SHAPE[0]).weight.detach(), bound)
    big_bias = nn.Linear(4, 20000).bias.detach().numpy()
    assert np.abs(big_bias).max() <= 0.5 and np.abs(big_bias).max() > 0.499
    embedding = nn.Embedding(*SHAPE, padding_idx=3)
    assert embedding.weight.dtype == np.float32
    np.testing.assert_array_equal(embedding.weight.detach().numpy()[3], 0)
    assert_normal(np.delete(embedding.weight.detach().numpy(), 3, axis=0), 1.0)
    assert_normal(nn.LearnedPositionalEmbedding(*SHAPE).weight.detach().numpy(), 1.0)
