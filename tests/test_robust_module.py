"""Module.load_state_dict all or nothing, zero_grad(set_to_none), gradcheck leaving its
inputs as they were, and GPT's arguments refused with errors that name them."""
import math

import numpy as np
import pytest

import microattn as ma
from microattn import nn
from microattn.models import GPT
from helpers import leaf

torch = pytest.importorskip("torch")


def linear_pair():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    theirs.load_state_dict({k: torch.tensor(v.data) for k, v in ours.state_dict().items()})
    return ours, theirs


# -- Module.load_state_dict ---------------------------------------------------------

def test_load_state_dict_of_a_list_is_a_type_error_like_torch():
    ours, theirs = linear_pair()
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got list"):
        ours.load_state_dict([("weight", np.zeros((2, 3)))])
    with pytest.raises(TypeError, match="dict-like"):
        theirs.load_state_dict([("weight", torch.zeros(2, 3))])


@pytest.mark.parametrize("bad_bias,match", [
    ("zeros", r'parameter named "bias".*received str'),
    ([0.0, 0.0], r'parameter named "bias".*received list'),
    (np.zeros(2, dtype=complex), "dtype mismatch for bias: cannot copy complex128"),
    (np.array(["a", "b"]), "dtype mismatch for bias"),
    (np.zeros(3), r"size mismatch for bias"),
])
@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_copies_nothing_unless_every_entry_fits(bad_bias, match, strict):
    ours, _ = linear_pair()
    before = {k: v.data.copy() for k, v in ours.state_dict().items()}
    state = {"weight": np.ones((2, 3)), "bias": bad_bias}   # weight first: it fits
    with pytest.raises(RuntimeError, match=match):
        ours.load_state_dict(state, strict=strict)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key])


def test_load_state_dict_casts_numbers_to_the_parameter_dtype():
    ours, _ = linear_pair()
    ours.load_state_dict({"weight": np.arange(6).reshape(2, 3), "bias": ma.tensor([True, False])})
    assert ours.weight.dtype == np.float32 and ours.weight.data[1, 2] == 5.0
    np.testing.assert_array_equal(ours.bias.data, [1.0, 0.0])


# -- zero_grad ----------------------------------------------------------------------

@pytest.mark.parametrize("as_tensor", [False, True])
def test_zero_grad_set_to_none_like_torch(as_tensor):
    ours, theirs = linear_pair()
    x = np.ones((4, 3), dtype=np.float32)
    ours(ma.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    if as_tensor:   # .grad is becoming a Tensor: zero_grad handles both
        ours.weight.grad = ma.tensor(np.asarray(ours.weight.grad))
    grad = ours.weight.grad
    ours.zero_grad(set_to_none=False)
    theirs.zero_grad(set_to_none=False)
    assert ours.weight.grad is grad
    np.testing.assert_array_equal(np.asarray(ours.weight.grad), theirs.weight.grad.numpy())
    np.testing.assert_array_equal(np.asarray(ours.bias.grad), 0.0)
    ours.zero_grad()
    theirs.zero_grad()
    assert ours.weight.grad is None and theirs.weight.grad is None
    assert ours.bias.grad is None and theirs.bias.grad is None


# -- gradcheck ----------------------------------------------------------------------

class Boom(Exception):
    pass


@pytest.mark.parametrize("fail_on_call", [1, 2, 3, 6])
def test_gradcheck_restores_its_inputs_when_fn_raises(fail_on_call):
    """Calls: 1 is the analytic pass, 2.. the finite differences (2 per element)."""
    x = leaf(np.array([0.5, -1.5, 2.0]))
    y = leaf(np.array([1.0, 2.0, 3.0]))
    y.grad = ma.tensor(np.array([7.0, 8.0, 9.0]))
    previous_grad = y.grad
    x_data, y_data = x.data, y.data.copy()
    x_before = x.data.copy()
    calls = []

    def fn(a, b):
        calls.append(1)
        if len(calls) == fail_on_call:
            raise Boom
        return (a * b).sum()

    with pytest.raises(Boom):
        ma.gradcheck(fn, (x, y))
    assert x.data is x_data
    np.testing.assert_array_equal(x.data, x_before)
    np.testing.assert_array_equal(y.data, y_data)
    assert x.grad is None and y.grad is previous_grad


def test_gradcheck_restores_gradients_when_backward_raises():
    x = leaf(np.array([1.0, 2.0]))
    x.grad = np.array([5.0, 5.0])

    def fn(a):
        out = a * 2
        out.register_hook(lambda g: (_ for _ in ()).throw(Boom()))
        return out

    with pytest.raises(Boom):
        ma.gradcheck(fn, (x,))
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


# -- GPT ----------------------------------------------------------------------------

GOOD = dict(vocab_size=11, d_model=8, nhead=2, num_layers=1, max_len=6)


@pytest.mark.parametrize("name,value,error", [
    ("num_layers", 0, ValueError),
    ("num_layers", -1, ValueError),
    ("d_model", 0, ValueError),
    ("nhead", 0, ValueError),
    ("vocab_size", 0, ValueError),
    ("max_len", 0, ValueError),
    ("dim_feedforward", 0, ValueError),
    ("num_layers", 2.5, TypeError),
    ("d_model", "8", TypeError),
    ("max_len", None, TypeError),
    ("nhead", True, TypeError),
])
def test_gpt_bad_sizes_name_the_argument(name, value, error):
    with pytest.raises(error, match=f"GPT: {name} should be a positive int"):
        GPT(**{**GOOD, name: value})


def test_gpt_d_model_must_divide_into_heads():
    with pytest.raises(ValueError, match="d_model=8 should be divisible by nhead=3"):
        GPT(**{**GOOD, "nhead": 3})


@pytest.fixture(scope="module")
def gpt():
    ma.manual_seed(0)
    return GPT(**GOOD).eval()


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(max_new_tokens=-1), ValueError, "max_new_tokens should be >= 0, got -1"),
    (dict(max_new_tokens=2.5), TypeError, "max_new_tokens should be an int"),
    (dict(max_new_tokens=3, temperature=math.nan), ValueError, "temperature.*got nan"),
    (dict(max_new_tokens=3, temperature=math.inf), ValueError, "temperature.*got inf"),
    (dict(max_new_tokens=3, temperature=-0.5), ValueError, "temperature"),
    (dict(max_new_tokens=3, temperature="1"), TypeError, "temperature should be a number"),
    (dict(max_new_tokens=3, top_k=2.5), TypeError, "top_k should be an int"),
    (dict(max_new_tokens=3, top_k=0), ValueError, "top_k should be >= 1"),
])
def test_generate_refuses_bad_arguments(gpt, kwargs, error, match):
    with pytest.raises(error, match=match):
        gpt.generate(np.zeros((2, 3), dtype=np.int64), **kwargs)


def test_generate_refuses_an_empty_prompt(gpt):
    with pytest.raises(ValueError, match=r"shape \(2, 0\), with no tokens"):
        gpt.generate(np.zeros((2, 0), dtype=np.int64), max_new_tokens=3)


def test_generate_with_no_new_tokens_returns_the_prompt(gpt):
    prompt = np.array([[1, 2, 3]])
    out = gpt.generate(prompt, max_new_tokens=0)
    np.testing.assert_array_equal(out.data, prompt)
    out = gpt.generate(prompt, max_new_tokens=np.int64(2), temperature=np.float32(0.5),
                       top_k=np.int64(3))
    assert out.shape == (1, 5)
