"""Optimisers: PyTorch's trajectories step by step, state dicts, zero_grad, argument checks."""
import numpy as np
import pytest

import microattn as ma
from microattn import optim
from helpers import assert_close, leaf
import copy
from microattn import nn

torch = pytest.importorskip("torch")

SHAPES = [(3,), (2, 3), (4, 1, 2), ()]
STEPS = 25

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, betas=(0.5, 0.99), weight_decay=0.3, amsgrad=True)),
]


def gradient_sequence(rng, shapes, steps):
    """Random gradients whose scale changes from step to step (so amsgrad's max
    matters); parameter 1 has no gradient every fifth step (it must be skipped)."""
    sequence = []
    for step in range(steps):
        grads = [np.asarray(rng.standard_normal(s) * rng.uniform(0.1, 3.0)) for s in shapes]
        if step % 5 == 4:
            grads[1] = None
        sequence.append(grads)
    return sequence


def set_grads(params, grads, to_torch=False):
    for p, g in zip(params, grads):
        if g is None:
            p.grad = None
        else:
            p.grad = torch.tensor(g) if to_torch else g.copy()


def relative_error(actual, expected):
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-300),
                        initial=0.0))


def run_against_torch(name, kwargs, groups=None, seed=0):
    """Step a microattn and a torch optimiser on identical parameters and gradients,
    comparing parameters after every step. Returns the worst relative error."""
    rng = np.random.default_rng(seed)
    inits = [np.asarray(rng.standard_normal(s)) for s in SHAPES]
    grads = gradient_sequence(rng, SHAPES, STEPS)
    mine = [leaf(a) for a in inits]
    theirs = [torch.tensor(a, requires_grad=True) for a in inits]

    def param_groups(params):
        if groups is None:
            return params
        return [{**options, "params": [params[i] for i in indices]} for indices, options in groups]

    ma_opt = getattr(optim, name)(param_groups(mine), **kwargs)
    torch_opt = getattr(torch.optim, name)(param_groups(theirs), **kwargs)
    worst = 0.0
    for step, step_grads in enumerate(grads):
        set_grads(mine, step_grads)
        set_grads(theirs, step_grads, to_torch=True)
        ma_opt.step()
        torch_opt.step()
        for i, (m, t) in enumerate(zip(mine, theirs)):
            expected = t.detach().numpy()
            assert_close(m.detach().numpy(), expected,
                         what=f"{name} {kwargs} step {step} param {i}")
            worst = max(worst, relative_error(m.detach().numpy(), expected))
    return worst


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_matches_torch(name, kwargs):
    assert run_against_torch(name, kwargs) <= 1e-10


@pytest.mark.parametrize("name,groups", [
    ("SGD", [([0, 1], dict(lr=0.2, momentum=0.5)), ([2, 3], dict(nesterov=True, momentum=0.9))]),
    ("Adam", [([0, 2], dict(lr=0.05, amsgrad=True)), ([1, 3], dict(weight_decay=0.2))]),
    ("AdamW", [([3, 1], dict(betas=(0.7, 0.95))), ([0, 2], dict(lr=0.1, weight_decay=0.0))]),
])
def test_param_groups_with_their_own_options_match_torch(name, groups):
    assert run_against_torch(name, dict(lr=0.01), groups=groups) <= 1e-10


def make(name, params, **kwargs):
    return getattr(optim, name)(params, **kwargs)


def run(opt, params, grads):
    for step_grads in grads:
        set_grads(params, step_grads)
        opt.step()


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
])
def test_state_dict_resumes_exactly(name, kwargs):
    rng = np.random.default_rng(3)
    inits = [np.asarray(rng.standard_normal(s)) for s in SHAPES]
    grads = gradient_sequence(rng, SHAPES, 20)

    straight = [leaf(a) for a in inits]
    run(make(name, straight, **kwargs), straight, grads)

    first = [leaf(a) for a in inits]
    first_opt = make(name, first, **kwargs)
    run(first_opt, first, grads[:8])
    snapshot = first_opt.state_dict()
    values = [p.detach().numpy().copy() for p in first]
    saved = {i: {k: np.copy(v) for k, v in s.items()} for i, s in snapshot["state"].items()}
    run(first_opt, first, grads[8:10])   # training on must not change the snapshot
    for i, s in snapshot["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(v, saved[i][k], err_msg=f"state {i} {k}")

    # A fresh optimiser, built with another lr, over new tensors holding the values of step 8.
    resumed = [leaf(v) for v in values]
    resumed_opt = make(name, resumed, lr=0.5)
    resumed_opt.load_state_dict(snapshot)
    assert resumed_opt.param_groups[0]["lr"] == kwargs["lr"]
    run(resumed_opt, resumed, grads[8:])
    for s, r in zip(straight, resumed):
        np.testing.assert_array_equal(r.detach().numpy(), s.detach().numpy())


def test_state_dict_layout_is_pytorchs():
    a, b, c = leaf(np.ones(2)), leaf(np.ones(3)), leaf(np.ones(1))
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    a.grad, c.grad = np.ones(2), np.ones(1)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert sorted(sd["state"]) == [0, 2]   # b had no gradient, so no state
    assert sd["state"][0]["step"] == 1
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"]
    # torch's optimiser over the same structure has the same group keys it shares with us
    t = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True),
         torch.ones(1, requires_grad=True)]
    torch_sd = torch.optim.Adam([{"params": t[:2]}, {"params": t[2:], "lr": 0.5}],
                                lr=0.1).state_dict()
    assert [g["params"] for g in torch_sd["param_groups"]] == [[0, 1], [2]]
    for ours, theirs in zip(sd["param_groups"], torch_sd["param_groups"]):
        for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
            assert ours[key] == theirs[key]


def test_load_state_dict_rejects_a_mismatch():
    a, b = leaf(np.ones(2)), leaf(np.ones(3))
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.ones(2), np.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="holds 2 parameters"):
        optim.SGD([leaf(np.ones(2))], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [leaf(np.ones(2))]}, {"params": [leaf(np.ones(3))]}],
                  lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(4,\)"):
        optim.SGD([leaf(np.ones(4)), leaf(np.ones(3))], lr=0.1).load_state_dict(sd)


def test_load_state_dict_copies_and_casts_to_the_parameter_dtype():
    a = leaf(np.ones(3))
    opt = optim.Adam([a], lr=0.1)
    a.grad = np.full(3, 0.5)
    opt.step()
    sd = opt.state_dict()
    b = ma.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt32 = optim.Adam([b], lr=0.1)
    opt32.load_state_dict(sd)
    state = opt32.state[b]
    assert state["exp_avg"].dtype == np.float32 and state["step"] == 1
    assert state["exp_avg"] is not sd["state"][0]["exp_avg"]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_step_updates_data_in_place_and_keeps_dtype(name):
    base = np.ones((2, 3), dtype=np.float32)
    p = ma.Tensor(base, requires_grad=True)
    data = p.detach().numpy()
    view = data[1]   # a view of the parameter: must see the update
    opt = make(name, [p], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    for _ in range(2):
        p.grad = np.arange(6, dtype=np.float32).reshape(2, 3)
        opt.step()
    assert p.detach().numpy() is data and p.detach().numpy().dtype == np.float32
    assert np.all(view == p.detach().numpy()[1]) and not np.all(view == 1)
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


def test_params_without_grad_are_untouched():
    a, b = leaf(np.ones(2)), leaf(np.ones(2))
    opt = optim.AdamW([a, b], lr=0.1)   # AdamW would decay b if it ran on it
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), np.ones(2))
    assert b not in opt.state and not np.all(a.detach().numpy() == 1)


def test_zero_grad():
    a, b, c = leaf(np.ones(2)), leaf(np.ones(3)), leaf(np.ones(1))
    opt = optim.SGD([a, b, c], lr=0.1)
    a.grad, b.grad = np.ones(2), np.full(3, 2.0)
    grad_b = b.grad
    opt.zero_grad(set_to_none=False)
    assert b.grad is grad_b and np.all(b.grad == 0) and np.all(a.grad == 0)
    assert c.grad is None
    opt.zero_grad()
    assert a.grad is None and b.grad is None and c.grad is None


def test_zero_grad_then_backward_accumulates_afresh():
    w = leaf(np.array([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.5)
    for set_to_none in (True, False):
        (w * w).backward(np.ones(2))
        (w * w).backward(np.ones(2))   # accumulated: 4w
        np.testing.assert_allclose(w.grad, 4 * w.detach().numpy(), rtol=1e-15)
        opt.zero_grad(set_to_none=set_to_none)
        (w * w).backward(np.ones(2))
        np.testing.assert_allclose(w.grad, 2 * w.detach().numpy(), rtol=1e-15)
        opt.zero_grad()


def test_step_returns_the_closures_loss_computed_with_grad():
    w = leaf(np.array([3.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = w * w
        loss.backward()
        return loss

    with ma.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.detach().numpy()[0] == 3.0 - 0.25 * 6.0


@pytest.mark.parametrize("make_opt,match", [
    (lambda p: optim.SGD(p, lr=-0.1), r"lr.*expected lr >= 0"),
    (lambda p: optim.SGD(p, momentum=-0.5), "momentum"),
    (lambda p: optim.SGD(p, weight_decay=-1), "weight_decay"),
    (lambda p: optim.SGD(p, nesterov=True), "Nesterov.*momentum > 0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening == 0"),
    (lambda p: optim.Adam(p, lr=-1e-3), "expected lr >= 0"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas.*\[0, 1\)"),
    (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), "betas"),
    (lambda p: optim.AdamW(p, weight_decay=-0.1), "weight_decay"),
    (lambda p: optim.SGD([{"params": p, "lr": -1.0}], lr=0.1), "lr"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_arguments_raise_value_error(make_opt, match):
    with pytest.raises(ValueError, match=match):
        make_opt([leaf(np.ones(2))])


def test_bad_parameters():
    a = leaf(np.ones(2))
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([a, a], lr=0.1)


def test_add_param_group_fills_defaults():
    a, b = leaf(np.ones(2)), leaf(np.ones(2))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [b]
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    assert "Parameter Group 1" in repr(opt)


OPTIMIZERS = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.01),
              "AdamW": dict(lr=0.01, amsgrad=True)}


def params_pair(shapes=((3,), (2, 2))):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    return [leaf(a) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


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


def grads_pair(grads):
    ours = [leaf(np.zeros(np.shape(g))) for g in grads]
    theirs = [torch.zeros(np.shape(g), dtype=torch.float64, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads):
        o.grad = np.array(g, dtype=np.float64)
        t.grad = torch.tensor(g, dtype=torch.float64)
    return ours, theirs


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
        np.testing.assert_array_equal(t.detach().numpy(), a.detach().numpy())


def test_zeros_like_gradient_then_sgd_step():
    p = leaf(np.arange(3.0))
    p.grad = ma.zeros_like(p)
    before = p.detach().numpy()
    optim.SGD([p], lr=0.1, momentum=0.9).step()
    assert p.detach().numpy() is before
    np.testing.assert_array_equal(p.detach().numpy(), np.arange(3.0))


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
