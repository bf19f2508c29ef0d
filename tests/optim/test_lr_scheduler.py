"""Learning-rate schedulers: PyTorch's learning rates step by step, state dicts, noam_lambda,
SequentialLR."""
import math

import numpy as np
import pytest

from microattn import optim
from microattn.optim.lr_scheduler import (CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR,
                                          noam_lambda)
from helpers import leaf

torch = pytest.importorskip("torch")

STEPS = 60
RTOL = 1e-12
BASE_LRS = (1.0, 0.3)


def optimizers(base_lrs=BASE_LRS):
    """A microattn and a torch SGD with one param group per base lr."""
    ours = optim.SGD([{"params": [leaf(np.zeros(1))], "lr": lr} for lr in base_lrs])
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                              for lr in base_lrs])
    return ours, theirs


def assert_same_lrs(ours, theirs, what):
    for mine, expected in zip(ours.get_last_lr(), theirs.get_last_lr()):
        assert math.isclose(mine, expected, rel_tol=RTOL, abs_tol=1e-300), \
            f"{what}: {mine!r} != {expected!r}"
    assert [g["lr"] for g in ours.optimizer.param_groups] == ours.get_last_lr()


def lrs_over(scheduler, steps=STEPS):
    """The lrs of the first group after construction and after each of ``steps`` steps."""
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return np.array(lrs)


CASES = {
    "noam": lambda mod, opt: mod.LambdaLR(opt, noam_lambda(d_model=64, warmup=10)),
    "lambda-per-group": lambda mod, opt: mod.LambdaLR(
        opt, [lambda e: 0.95 ** e, noam_lambda(32, 7)]),
    "cosine": lambda mod, opt: mod.CosineAnnealingLR(opt, T_max=20, eta_min=1e-3),
    "cosine-to-zero": lambda mod, opt: mod.CosineAnnealingLR(opt, T_max=7),
    "linear-warmup": lambda mod, opt: mod.LinearLR(opt, start_factor=0.1, total_iters=10),
    "linear-decay": lambda mod, opt: mod.LinearLR(opt, start_factor=1.0, end_factor=0.05,
                                                  total_iters=33),
    "linear-defaults": lambda mod, opt: mod.LinearLR(opt),
    "step": lambda mod, opt: mod.StepLR(opt, step_size=7, gamma=0.5),
    "step-defaults": lambda mod, opt: mod.StepLR(opt, 10),
    "onecycle": lambda mod, opt: mod.OneCycleLR(opt, max_lr=2.0, total_steps=STEPS),
    "onecycle-per-group-linear": lambda mod, opt: mod.OneCycleLR(
        opt, max_lr=[1.0, 0.4], epochs=6, steps_per_epoch=11, pct_start=0.25,
        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
    "onecycle-three-phase": lambda mod, opt: mod.OneCycleLR(
        opt, max_lr=0.5, total_steps=STEPS + 3, pct_start=0.2, three_phase=True,
        base_momentum=[0.8, 0.7], max_momentum=0.9),
    "onecycle-no-momentum": lambda mod, opt: mod.OneCycleLR(
        opt, max_lr=0.5, total_steps=STEPS, cycle_momentum=False),
}
# Each later schedule restarts from its epoch 0 at its milestone.
SEQUENTIAL_CASES = {
    "warmup-cosine": lambda mod, opt: mod.SequentialLR(
        opt, [mod.LinearLR(opt, start_factor=0.01, total_iters=10),
              mod.CosineAnnealingLR(opt, T_max=30)], milestones=[10]),
    "warmup-lambda": lambda mod, opt: mod.SequentialLR(
        opt, [mod.LinearLR(opt, start_factor=0.1, total_iters=20),
              mod.LambdaLR(opt, [lambda e: 0.95 ** e, noam_lambda(32, 7)])], milestones=[20]),
    "three-schedules": lambda mod, opt: mod.SequentialLR(
        opt, [mod.LinearLR(opt, start_factor=0.05, total_iters=5),
              mod.CosineAnnealingLR(opt, T_max=20, eta_min=1e-3),
              mod.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=15)],
        milestones=[5, 25]),
    "cosine-then-linear": lambda mod, opt: mod.SequentialLR(
        opt, [mod.CosineAnnealingLR(opt, T_max=7, eta_min=0.01),
              mod.LinearLR(opt, start_factor=0.2, end_factor=0.5, total_iters=9)], milestones=[5]),
    "sequential-from-milestone-0": lambda mod, opt: mod.SequentialLR(
        opt, [mod.LinearLR(opt, start_factor=0.2), mod.CosineAnnealingLR(opt, T_max=9)],
        milestones=[0]),
    "warmup-step": lambda mod, opt: mod.SequentialLR(
        opt, [mod.LinearLR(opt, start_factor=0.1, total_iters=8),
              mod.StepLR(opt, step_size=5, gamma=0.7)], milestones=[8]),
    "nested-sequential": lambda mod, opt: mod.SequentialLR(
        opt, [mod.SequentialLR(opt, [mod.LinearLR(opt, start_factor=0.1, total_iters=4),
                                     mod.CosineAnnealingLR(opt, T_max=10)], milestones=[4]),
              mod.LambdaLR(opt, lambda e: 0.9 ** e)], milestones=[12]),
}
CASES.update(SEQUENTIAL_CASES)


# torch warns (spuriously) that a nested SequentialLR steps before optimizer.step().
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
@pytest.mark.parametrize("case", CASES)
def test_learning_rates_match_torch(case):
    ours_opt, torch_opt = optimizers()
    ours = CASES[case](optim.lr_scheduler, ours_opt)
    theirs = CASES[case](torch.optim.lr_scheduler, torch_opt)
    assert_same_lrs(ours, theirs, f"{case} after construction")
    for step in range(1, STEPS + 1):
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()
        assert ours.last_epoch == theirs.last_epoch == step
        assert_same_lrs(ours, theirs, f"{case} step {step}")
        # OneCycleLR cycles the momentum too.
        for mine, expected in zip(ours_opt.param_groups, torch_opt.param_groups):
            assert math.isclose(mine["momentum"], expected["momentum"], rel_tol=RTOL)


@pytest.mark.parametrize("case", ["noam", "cosine", "linear-warmup"])
def test_resuming_with_last_epoch_matches_torch(case):
    ours_opt, torch_opt = optimizers()
    for opt in (ours_opt, torch_opt):
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
            group["lr"] *= 0.5   # the lr the interrupted run had reached
    ours = CASES[case](_Resume(optim.lr_scheduler, 12), ours_opt)
    theirs = CASES[case](_Resume(torch.optim.lr_scheduler, 12), torch_opt)
    assert_same_lrs(ours, theirs, f"{case} after construction")
    for step in range(20):
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()
        assert_same_lrs(ours, theirs, f"{case} step {step}")


class _Resume:
    """A scheduler module whose classes are built with ``last_epoch=...``."""

    def __init__(self, module, last_epoch):
        self.module, self.last_epoch = module, last_epoch

    def __getattr__(self, name):
        cls = getattr(self.module, name)
        return lambda *args, **kwargs: cls(*args, last_epoch=self.last_epoch, **kwargs)


def test_resuming_without_initial_lr_is_refused():
    opt, _ = optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        CosineAnnealingLR(opt, T_max=10, last_epoch=4)


def test_closed_forms():
    """Independent of torch: the formulas in the docstrings."""
    base, eta_min, T = 0.5, 0.01, 16
    opt, _ = optimizers((base,))
    lrs = lrs_over(CosineAnnealingLR(opt, T_max=T, eta_min=eta_min), steps=2 * T)
    t = np.arange(2 * T + 1)
    np.testing.assert_allclose(lrs, eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / T)) / 2,
                               rtol=1e-12, atol=1e-15)

    opt, _ = optimizers((base,))
    lrs = lrs_over(LinearLR(opt, start_factor=0.25, end_factor=0.75, total_iters=8), steps=20)
    t = np.minimum(np.arange(21), 8)
    np.testing.assert_allclose(lrs, base * (0.25 + 0.5 * t / 8), rtol=1e-12)


def test_noam_lambda_is_the_papers_schedule():
    d_model, warmup = 512, 4000
    factor = noam_lambda(d_model, warmup)
    steps = np.arange(1, 3 * warmup)
    values = np.array([factor(s) for s in steps])
    expected = d_model ** -0.5 * np.minimum(steps ** -0.5, steps * warmup ** -1.5)
    np.testing.assert_allclose(values, expected, rtol=1e-14)
    assert steps[np.argmax(values)] == warmup
    assert math.isclose(values.max(), (d_model * warmup) ** -0.5, rel_tol=1e-14)
    assert factor(0) == factor(1)
    # Linear warm-up, then inverse square root decay.
    np.testing.assert_allclose(values[:warmup] / steps[:warmup], values[0], rtol=1e-12)
    np.testing.assert_allclose(values[warmup:] * np.sqrt(steps[warmup:]), d_model ** -0.5,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="warmup > 0"):
        noam_lambda(512, 0)


@pytest.mark.parametrize("case", CASES)
def test_state_dict_resumes_the_schedule(case):
    make = CASES[case]
    straight_opt, _ = optimizers()
    straight = lrs_over(make(optim.lr_scheduler, straight_opt), steps=40)

    first_opt, _ = optimizers()
    first = make(optim.lr_scheduler, first_opt)
    head = lrs_over(first, steps=17)
    opt_state, sched_state = first_opt.state_dict(), first.state_dict()
    assert "optimizer" not in sched_state and "lr_lambdas" not in sched_state

    # Build both (with other lrs: the state dicts must restore them), then load both.
    resumed_opt, _ = optimizers((9.0, 9.0))
    resumed = make(optim.lr_scheduler, resumed_opt)
    resumed_opt.load_state_dict(opt_state)
    resumed.load_state_dict(sched_state)
    assert resumed.get_last_lr() == first.get_last_lr()
    tail = lrs_over(resumed, steps=23)
    np.testing.assert_array_equal(np.concatenate([head, tail[1:]]), straight)


def test_bad_arguments():
    opt, _ = optimizers()
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="start_factor"):
        LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="end_factor"):
        LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="total_iters"):
        LinearLR(opt, total_iters=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        LambdaLR(opt, [lambda e: 1.0])


def test_warmup_then_cosine_closed_form():
    """Independent of torch: the docstring's idiom is a linear warm-up over W steps, then a
    full cosine from base_lr (restarted at the milestone) down to 0 at step T."""
    base, W, T = 0.5, 8, 40
    opt, _ = optimizers((base,))
    warm = LinearLR(opt, start_factor=0.01, total_iters=W)
    cos = CosineAnnealingLR(opt, T_max=T - W)
    lrs = lrs_over(SequentialLR(opt, [warm, cos], milestones=[W]), steps=T)
    t = np.arange(T + 1)
    expected = np.where(t < W, base * (0.01 + 0.99 * t / W),
                        base * (1 + np.cos(np.pi * (t - W) / (T - W))) / 2)
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    assert lrs[W] == base


@pytest.mark.parametrize("split", [9, 10, 11])
def test_sequential_state_dict_resumes_at_the_milestone_like_torch(split):
    """Save just before, at and after the milestone (10); the resumed run continues as
    torch's uninterrupted one."""
    make = SEQUENTIAL_CASES["warmup-cosine"]
    torch_opt = optimizers()[1]
    theirs = make(torch.optim.lr_scheduler, torch_opt)
    expected = [theirs.get_last_lr()]
    for _ in range(30):
        torch_opt.step()
        theirs.step()
        expected.append(theirs.get_last_lr())

    first_opt, _ = optimizers()
    first = make(optim.lr_scheduler, first_opt)
    for _ in range(split):
        first_opt.step()
        first.step()
    opt_state, sched_state = first_opt.state_dict(), first.state_dict()
    assert sched_state["last_epoch"] == split
    # The warm-up ran epochs 0..9; the cosine was restarted at epoch 0 at the milestone.
    assert [s["last_epoch"] for s in sched_state["_schedulers"]] == [9, max(split - 10, -1)]

    resumed_opt, _ = optimizers((9.0, 9.0))
    resumed = make(optim.lr_scheduler, resumed_opt)
    resumed_opt.load_state_dict(opt_state)
    resumed.load_state_dict(sched_state)
    for step in range(split, 31):
        np.testing.assert_allclose(resumed.get_last_lr(), expected[step], rtol=RTOL)
        assert [g["lr"] for g in resumed_opt.param_groups] == resumed.get_last_lr()
        resumed_opt.step()
        resumed.step()


def test_sequential_bad_arguments():
    opt, _ = optimizers()
    other, _ = optimizers()
    with pytest.raises(ValueError, match="at least one scheduler"):
        SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="2 schedulers and 2 milestones"):
        SequentialLR(opt, [LinearLR(opt), LinearLR(opt)], milestones=[3, 6])
    with pytest.raises(ValueError, match="2 schedulers and 0 milestones"):
        SequentialLR(opt, [LinearLR(opt), LinearLR(opt)], milestones=[])
    with pytest.raises(ValueError, match=r"schedulers\[1\] \(CosineAnnealingLR\)"):
        SequentialLR(opt, [LinearLR(opt), CosineAnnealingLR(other, T_max=5)], milestones=[3])
    with pytest.raises(TypeError, match=r"schedulers\[0\] is SGD"):
        SequentialLR(opt, [opt], milestones=[])
    with pytest.raises(ValueError, match="increasing order"):
        SequentialLR(opt, [LinearLR(opt), LinearLR(opt), LinearLR(opt)], milestones=[6, 3])

    sched = SequentialLR(opt, [LinearLR(opt), LinearLR(opt)], milestones=[3])
    state = SequentialLR(opt, [LinearLR(opt)], milestones=[]).state_dict()
    with pytest.raises(ValueError, match="1 schedulers' states, but this SequentialLR has 2"):
        sched.load_state_dict(state)


@pytest.mark.parametrize("kwargs", [dict(), dict(three_phase=True, anneal_strategy="linear")])
def test_one_cycle_cycles_adams_beta1_like_torch(kwargs):
    ours_opt = optim.Adam([leaf(np.zeros(1))], lr=0.1, betas=(0.9, 0.99))
    torch_opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1, betas=(0.9, 0.99))
    ours = optim.lr_scheduler.OneCycleLR(ours_opt, max_lr=0.01, total_steps=30, **kwargs)
    theirs = torch.optim.lr_scheduler.OneCycleLR(torch_opt, max_lr=0.01, total_steps=30,
                                                 **kwargs)
    for step in range(30):
        assert_same_lrs(ours, theirs, f"step {step}")
        mine, expected = ours_opt.param_groups[0]["betas"], torch_opt.param_groups[0]["betas"]
        assert mine[1] == expected[1] == 0.99
        assert math.isclose(mine[0], expected[0], rel_tol=RTOL), f"step {step}"
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()


def test_step_lr_closed_form():
    """Independent of torch: lr_t = base_lr * gamma ** (t // step_size)."""
    opt, _ = optimizers((0.8,))
    lrs = lrs_over(optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5), steps=20)
    np.testing.assert_allclose(lrs, 0.8 * 0.5 ** (np.arange(21) // 4), rtol=1e-15)


def test_one_cycle_ends_at_the_minimum_and_refuses_to_step_past_it():
    opt, _ = optimizers((1.0,))
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    lrs = lrs_over(sched, steps=9)
    assert math.isclose(lrs[0], 1.0 / 25, rel_tol=1e-12)
    assert lrs.max() == 1.0 and np.argmax(lrs) == 2
    assert math.isclose(lrs[-1], 1.0 / 25 / 1e4, rel_tol=1e-12)
    sched.step()   # step 10, as torch allows
    with pytest.raises(ValueError, match="Tried to step 11 times.*total steps is 10"):
        sched.step()


def test_step_lr_bad_arguments():
    # torch checks neither: step_size=0 divides by zero at the first step.
    opt, _ = optimizers()
    with pytest.raises(ValueError, match="step_size should be >= 1"):
        optim.lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="step_size should be an int"):
        optim.lr_scheduler.StepLR(opt, step_size=2.5)


@pytest.mark.parametrize("kwargs,match", [
    (dict(), "either total_steps OR"),
    (dict(total_steps=0), "total_steps"),
    (dict(total_steps=2.0), "total_steps"),
    (dict(epochs=2, steps_per_epoch=0), "steps_per_epoch"),
    (dict(total_steps=5, pct_start=1), "pct_start"),
    (dict(total_steps=5, pct_start=1.5), "pct_start"),
    (dict(total_steps=5, anneal_strategy="exp"), "'cos' or 'linear'"),
    (dict(total_steps=5, max_lr=[1.0]), "expected 2 values for max_lr"),
    (dict(total_steps=5, base_momentum=[0.8, 0.8, 0.8]), "expected 2 values for base_momentum"),
])
def test_one_cycle_bad_arguments_raise_value_error_like_torch(kwargs, match):
    kwargs = {"max_lr": 1.0, **kwargs}
    ours_opt, torch_opt = optimizers()
    with pytest.raises(ValueError, match=match):
        optim.lr_scheduler.OneCycleLR(ours_opt, **kwargs)
    with pytest.raises(ValueError):
        torch.optim.lr_scheduler.OneCycleLR(torch_opt, **kwargs)


def test_one_cycle_with_a_phase_of_no_steps_is_a_clear_error():
    # torch divides by zero here; the message says what to change.
    opt, _ = optimizers()
    with pytest.raises(ValueError, match="pct_start"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.1)


@pytest.mark.parametrize("bad,error,match", [
    ([1, 2], TypeError, "dict-like"),
    ({"base_lrs": [1.0]}, KeyError, "last_epoch"),
])
def test_scheduler_load_state_dict_refuses_what_is_not_a_state_dict(bad, error, match):
    opt, _ = optimizers()
    sched = optim.lr_scheduler.StepLR(opt, 3)
    before = dict(sched.__dict__)
    with pytest.raises(error, match=match):
        sched.load_state_dict(bad)
    assert sched.__dict__ == before
    seq = SEQUENTIAL_CASES["warmup-cosine"](optim.lr_scheduler, opt)
    state = seq.state_dict()
    state["_schedulers"][1] = bad
    before = [dict(s.__dict__) for s in [seq, *seq._schedulers]]
    with pytest.raises(error, match=match):
        seq.load_state_dict(state)
    assert [dict(s.__dict__) for s in [seq, *seq._schedulers]] == before
