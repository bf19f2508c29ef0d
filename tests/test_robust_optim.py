"""Optimisers and clip_grad_norm_ at the edges: sets and mistyped options refused with
PyTorch's error types, load_state_dict all or nothing, gradients given as Tensors,
NaN and inf gradients as PyTorch treats them."""
import copy

import numpy as np
import pytest

import microattn as ma
from microattn import nn, optim
from helpers import leaf

torch = pytest.importorskip("torch")

OPTIMIZERS = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.01),
              "AdamW": dict(lr=0.01, amsgrad=True)}


def params_pair(shapes=((3,), (2, 2))):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    return [leaf(a) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


# -- params and options -------------------------------------------------------------

@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_set_of_parameters_is_refused(name):
    ours, theirs = params_pair()
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an "
                                        "iterable of Tensors or dicts, but got set"):
        getattr(optim, name)(set(ours), **OPTIMIZERS[name])
    with pytest.raises(TypeError, match="frozenset"):
        getattr(optim, name)(frozenset(ours), **OPTIMIZERS[name])
    # In a param group torch refuses a set too (torch 2.x takes a bare set in hash order;
    # we refuse it as well: which state belongs to which parameter would change per run).
    with pytest.raises(TypeError, match="ordered"):
        getattr(optim, name)([{"params": set(ours)}], **OPTIMIZERS[name])
    with pytest.raises(TypeError):
        getattr(torch.optim, name)([{"params": set(theirs)}], **OPTIMIZERS[name])


def test_params_that_are_not_iterable_are_refused():
    with pytest.raises(TypeError, match="but got int"):
        optim.SGD(3, lr=0.1)
    with pytest.raises(TypeError, match="but got a Tensor"):
        optim.SGD(leaf(np.ones(2)), lr=0.1)


# (make, expected match): each raises TypeError naming the argument; torch raises too.
MISTYPED = [
    ("Adam", dict(betas=0.9), "Invalid betas: expected a pair"),
    ("Adam", dict(betas=(0.9,)), "Invalid betas: expected a pair"),
    ("AdamW", dict(betas=(0.9, 0.99, 0.1)), "Invalid betas: expected a pair"),
    ("Adam", dict(betas=("0.9", 0.99)), "Invalid beta1: expected a number, got str"),
    ("Adam", dict(betas=(0.9, None)), "Invalid beta2: expected a number, got NoneType"),
    ("Adam", dict(lr="0.1"), "Invalid lr: expected a number, got str '0.1'"),
    ("Adam", dict(eps="x"), "Invalid eps"),
    ("AdamW", dict(weight_decay=None), "Invalid weight_decay"),
    ("SGD", dict(lr="0.1"), "Invalid lr: expected a number, got str '0.1'"),
    ("SGD", dict(lr=None), "Invalid lr"),
    ("SGD", dict(lr=0.1, momentum="0.9"), "Invalid momentum"),
    ("SGD", dict(lr=0.1, momentum=None), "Invalid momentum"),
    ("SGD", dict(lr=0.1, weight_decay=[0.1]), "Invalid weight_decay"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening="0"), "Invalid dampening"),
]


@pytest.mark.parametrize("name,kwargs,match", MISTYPED)
def test_mistyped_options_raise_type_error_naming_them(name, kwargs, match):
    ours, theirs = params_pair()
    with pytest.raises(TypeError, match=match):
        getattr(optim, name)(ours, **kwargs)
    with pytest.raises((TypeError, IndexError, ValueError)):   # torch: a bare comparison error
        opt = getattr(torch.optim, name)(theirs, **kwargs)
        for _ in range(2):   # torch reads dampening only from the second step
            for p in theirs:
                p.grad = torch.ones_like(p)
            opt.step()


def test_mistyped_option_in_a_param_group_is_refused():
    ours, _ = params_pair()
    with pytest.raises(TypeError, match="Invalid lr"):
        optim.SGD([{"params": ours[:1], "lr": "fast"}], lr=0.1)
    opt = optim.SGD(ours[:1], lr=0.1)
    with pytest.raises(TypeError, match="Invalid momentum"):
        opt.add_param_group({"params": ours[1:], "momentum": "0.9"})
    assert len(opt.param_groups) == 1


def test_numpy_numbers_are_numbers():
    ours, _ = params_pair()
    opt = optim.Adam(ours, lr=np.float32(0.01), betas=[np.float64(0.9), 0.99])
    assert opt.param_groups[0]["betas"] == (0.9, 0.99)


# -- load_state_dict ----------------------------------------------------------------

def trained(name):
    ours, _ = params_pair()
    opt = getattr(optim, name)(ours, **OPTIMIZERS[name])
    for p in ours:
        p.grad = np.ones(p.shape)
    opt.step()
    return opt


def snapshot(opt):
    return copy.deepcopy({"state": {id(p): s for p, s in opt.state.items()},
                          "groups": [{k: v for k, v in g.items() if k != "params"}
                                     for g in opt.param_groups]})


def assert_same_snapshot(a, b):
    assert a["groups"] == b["groups"]
    assert a["state"].keys() == b["state"].keys()
    for key in a["state"]:
        for name, value in a["state"][key].items():
            np.testing.assert_array_equal(b["state"][key][name], value)


# The last column is what torch raises (a bare KeyError or AttributeError where we
# give a TypeError saying what was expected).
@pytest.mark.parametrize("bad,error,match,torch_error", [
    ([1, 2], TypeError, "Expected state_dict to be dict-like, got list", TypeError),
    ({"state": {}}, KeyError, "no 'param_groups' entry", KeyError),
    ({"param_groups": [{"params": [0, 1]}]}, KeyError, "no 'state' entry", KeyError),
    ({"state": {}, "param_groups": {"params": [0]}}, TypeError, "'param_groups' should be",
     (TypeError, ValueError, KeyError)),
    ({"state": {}, "param_groups": [{"lr": 0.1}]}, TypeError, "'params' list", KeyError),
    ({"state": [], "param_groups": [{"params": [0, 1]}]}, TypeError, "'state' should be",
     AttributeError),
    ({"state": {}, "param_groups": [{"params": [[0], 1]}]}, TypeError, "by int index",
     TypeError),
    ({"state": {}, "param_groups": [{"params": [1, 1]}]}, ValueError, "more than once",
     None),
])
def test_load_state_dict_refuses_what_is_not_a_state_dict(bad, error, match, torch_error):
    opt = trained("Adam")
    before = snapshot(opt)
    with pytest.raises(error, match=match):
        opt.load_state_dict(bad)
    assert_same_snapshot(before, snapshot(opt))
    _, theirs = params_pair()
    if torch_error is None:   # torch loads it, and matches both parameters to index 1
        return
    with pytest.raises(torch_error):
        torch.optim.Adam(theirs).load_state_dict(bad)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_load_state_dict_copies_nothing_unless_everything_fits(name):
    source, target = trained(name), trained(name)
    for p in target.param_groups[0]["params"]:
        p.grad = np.full(p.shape, 3.0)
    target.step()
    before = snapshot(target)
    state = source.state_dict()
    key = next(iter(state["state"][1]))
    if isinstance(state["state"][1][key], np.ndarray):   # the last entry has a wrong shape
        state["state"][1][key] = np.zeros(7)
        with pytest.raises(ValueError, match="shape"):
            target.load_state_dict(state)
        assert_same_snapshot(before, snapshot(target))
    state = source.state_dict()
    state["param_groups"][0]["lr"] = -1.0                  # the groups fail after the state
    with pytest.raises(ValueError, match="lr"):
        target.load_state_dict(state)
    assert_same_snapshot(before, snapshot(target))


# -- gradients given as Tensors -----------------------------------------------------

@pytest.mark.parametrize("name", OPTIMIZERS)
def test_gradients_given_as_tensors_step_like_arrays(name):
    """The core is making .grad a Tensor; the optimisers read either the same way."""
    as_arrays, _ = params_pair()
    as_tensors, _ = params_pair()
    opts = [getattr(optim, name)(ps, weight_decay=0.1, **OPTIMIZERS[name])
            for ps in (as_arrays, as_tensors)]
    rng = np.random.default_rng(1)
    for _ in range(5):
        for a, t in zip(as_arrays, as_tensors):
            g = rng.standard_normal(a.shape)
            a.grad, t.grad = g.copy(), ma.tensor(g.copy())
        for opt in opts:
            opt.step()
    for a, t in zip(as_arrays, as_tensors):
        np.testing.assert_array_equal(t.data, a.data)


def test_zeros_like_gradient_then_sgd_step():
    p = leaf(np.arange(3.0))
    p.grad = ma.zeros_like(p)
    before = p.data
    optim.SGD([p], lr=0.1, momentum=0.9).step()
    assert p.data is before
    np.testing.assert_array_equal(p.data, np.arange(3.0))


def test_zero_grad_keeps_a_tensor_gradient_and_zeroes_it():
    p = leaf(np.ones(3))
    grad = ma.tensor(np.full(3, 2.0))
    p.grad = grad
    opt = optim.SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(np.asarray(p.grad), 0.0)
    opt.zero_grad()
    assert p.grad is None


# -- clip_grad_norm_ ----------------------------------------------------------------

def grads_pair(grads):
    ours = [leaf(np.zeros(np.shape(g))) for g in grads]
    theirs = [torch.zeros(np.shape(g), dtype=torch.float64, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        o.grad = np.array(g, dtype=np.float64)
        t.grad = torch.tensor(g, dtype=torch.float64)
    return ours, theirs


@pytest.mark.parametrize("grads", [
    [[1.0, np.nan], [2.0]],
    [[1.0, np.inf], [2.0, 3.0]],
    [[-np.inf, 1.0], [np.inf]],
    [[np.nan, np.inf], [0.0]],
    [[3.0, 4.0], [0.0]],          # finite, clipped
    [[0.1, 0.2], [0.0]],          # finite, untouched
])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch_with_nonfinite_gradients(grads, norm_type):
    ours, theirs = grads_pair(grads)
    total = nn.utils.clip_grad_norm_(ours, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("grads", [[[1.0, np.nan], [2.0]], [[np.inf], [1.0]]])
def test_clip_grad_norm_error_if_nonfinite_raises_and_changes_nothing(grads):
    ours, theirs = grads_pair(grads)
    with pytest.raises(RuntimeError, match="total norm of order 2.0.*error_if_nonfinite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    for o, g in zip(ours, grads):
        np.testing.assert_array_equal(o.grad, np.array(g))


def test_clip_grad_norm_scales_tensor_gradients_in_place():
    p = leaf(np.zeros(2))
    grad = ma.tensor(np.array([3.0, 4.0]))
    p.grad = grad
    total = nn.utils.clip_grad_norm_([p], max_norm=1.0)
    assert total.item() == 5.0 and p.grad is grad
    np.testing.assert_allclose(np.asarray(p.grad), [0.6, 0.8], rtol=1e-6)
    nn.utils.clip_grad_value_([p], 0.7)
    np.testing.assert_allclose(np.asarray(p.grad), [0.6, 0.7], rtol=1e-6)
