"""Learning-rate schedules, as PyTorch's ``torch.optim.lr_scheduler``.

A scheduler rewrites ``group['lr']`` in its optimiser's param groups. Making
it sets the lr of step 0; then call ``scheduler.step()`` once after each
``optimizer.step()``::

    opt = optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    sched = LambdaLR(opt, noam_lambda(d_model=512, warmup=4000))   # the paper's schedule
    for batch in batches:
        ...; opt.step(); sched.step()

- :class:`LambdaLR`: ``lr = base_lr * lr_lambda(epoch)``, any schedule you can write down;
  :func:`noam_lambda` is the factor of "Attention Is All You Need".
- :class:`CosineAnnealingLR`: cosine decay from base_lr to ``eta_min`` over ``T_max`` steps.
- :class:`LinearLR`: linear warm-up, from ``start_factor * base_lr`` to
  ``end_factor * base_lr`` over ``total_iters`` steps, then constant.
- :class:`StepLR`: multiply the lr by ``gamma`` every ``step_size`` steps.
- :class:`OneCycleLR`: the 1cycle policy (Smith & Topin): warm up to ``max_lr``, then
  anneal far below the start, cycling momentum (or Adam's beta1) the other way.
- :class:`SequentialLR`: one schedule after another, e.g. a linear warm-up, then cosine
  decay (example in its docstring).

``last_epoch`` counts the calls to ``step()`` (0 after construction), whether
they mark epochs or batches. To resume, build the optimiser and the scheduler
as before, then load both state dicts.
"""
import bisect
import math
from collections.abc import Mapping


class LRScheduler:
    """Base class: holds ``base_lrs`` (each group's lr when scheduling started,
    kept in ``group['initial_lr']``) and ``last_epoch``; subclasses give
    ``get_lr()``, the lrs for the new ``last_epoch``.

    Pass ``last_epoch=n`` only to resume a schedule whose optimiser's groups
    already hold ``'initial_lr'``; :meth:`load_state_dict` is the simpler way.
    """

    # Attributes that are not state: the optimiser, and functions.
    _not_state = ("optimizer",)

    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param_groups[{i}] has no 'initial_lr': resuming with "
                               f"last_epoch={last_epoch} needs an optimiser that was scheduled "
                               f"before (or load the scheduler's state_dict instead)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """The first step, which sets the lrs of epoch 0 from the group lrs (the
        constructor takes it; :class:`SequentialLR` retakes it for its first schedule)."""
        self._step_count = 0
        self.step()

    @property
    def _is_initial(self):
        """True inside :meth:`_initial_step`."""
        return self._step_count == 1

    def get_lr(self):
        """The learning rate of each group at ``last_epoch`` (subclasses implement)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def _closed_form_lr(self):
        """The lrs at ``last_epoch`` from ``base_lrs`` alone, whatever the groups hold.
        Schedules whose :meth:`get_lr` is recursive override it; for the others
        (e.g. :class:`LambdaLR`) ``get_lr()`` already is the closed form."""
        return self.get_lr()

    def step(self):
        """Advance the schedule by one step and write the new lrs into the optimiser."""
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _jump_to(self, epoch):
        """Set ``last_epoch`` to ``epoch`` and its lrs from the closed form: how
        :class:`SequentialLR` restarts a schedule at epoch 0 at its milestone, as
        PyTorch's deprecated ``step(epoch)``. Not counted as a step."""
        self.last_epoch = epoch
        self._set_lrs(self._closed_form_lr())

    def _set_lrs(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per param group."""
        return self._last_lr

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """The scheduler's state (every attribute but the optimiser and functions)."""
        return {k: v for k, v in self.__dict__.items() if k not in self._not_state}

    def load_state_dict(self, state_dict):
        """Restore a :meth:`state_dict` (load the optimiser's state as well)."""
        _check_state_dict(self, state_dict)
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in self._not_state})


def _check_state_dict(scheduler, state_dict):
    """Raise TypeError/KeyError unless ``state_dict`` looks like ``scheduler.state_dict()``."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}: "
                        f"pass what {type(scheduler).__name__}.state_dict() returned")
    if "last_epoch" not in state_dict:
        raise KeyError(f"the scheduler state dict has no 'last_epoch' entry: pass what "
                       f"{type(scheduler).__name__}.state_dict() returned")


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(last_epoch)``: one function for all groups, or a
    list with one per group. The functions are not part of the state dict:
    build the scheduler with them, then load its state."""

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas (one per param group), "
                                 f"but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter, SGDR) without restarts::

        lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    Past ``T_max`` the cosine continues, so the lr climbs back over the next
    ``T_max`` steps. As in PyTorch the lr is computed recursively from the
    current ``group['lr']`` (equal to the closed form above when nothing else
    changes the lr), so it composes with other changes to the lr.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if not T_max >= 1:
            raise ValueError(f"Invalid T_max: {T_max!r} (expected a number of steps >= 1)")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:
            # One step past a minimum the ratio below divides by 1 + cos(pi) = 0.
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear warm-up: the lr factor goes from ``start_factor`` to ``end_factor``
    in equal steps over ``total_iters`` steps, then stays::

        lr_t = base_lr * (start_factor
                          + (end_factor - start_factor) * min(t, total_iters) / total_iters)

    A warm-up over W steps is ``LinearLR(opt, start_factor=1 / W, total_iters=W)``.
    Computed recursively from the current lr, as in PyTorch.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"Invalid start_factor: {start_factor!r} "
                             f"(expected 0 < start_factor <= 1)")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"Invalid end_factor: {end_factor!r} "
                             f"(expected 0 <= end_factor <= 1)")
        if not total_iters >= 1:
            raise ValueError(f"Invalid total_iters: {total_iters!r} (expected >= 1)")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if self._is_initial or t > self.total_iters:
            return self._current_lrs()
        # factor_t / factor_{t-1}, so each step rescales the current lr.
        ratio = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form_lr(self):
        t, start, end = min(self.last_epoch, self.total_iters), self.start_factor, self.end_factor
        return [base_lr * (start + (end - start) * t / self.total_iters)
                for base_lr in self.base_lrs]


class StepLR(LRScheduler):
    """Decay the lr by ``gamma`` every ``step_size`` steps::

        lr_t = base_lr * gamma ** (t // step_size)

    Computed recursively from the current lr, as in PyTorch.
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, int):
            raise TypeError(f"StepLR: step_size should be an int number of steps, got "
                            f"{type(step_size).__name__} {step_size!r}")
        if step_size < 1:
            raise ValueError(f"StepLR: step_size should be >= 1, got {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), as PyTorch's ``OneCycleLR``: over
    ``total_steps`` steps (or ``epochs * steps_per_epoch``) the lr climbs from
    ``max_lr / div_factor`` to ``max_lr`` during the first ``pct_start`` of the
    steps, then anneals to ``max_lr / (div_factor * final_div_factor)`` at the last
    step. With ``three_phase=True`` it first comes back down to the starting lr
    (symmetrically) and only then anneals to the minimum. Each phase interpolates
    with ``anneal_strategy``, 'cos' (half a cosine) or 'linear'::

        cos:    lr = end + (start - end) * (1 + cos(pi * pct)) / 2
        linear: lr = start + (end - start) * pct

    where pct runs from 0 to 1 over the phase. With ``cycle_momentum`` (the
    default) the momentum, or Adam's beta1, moves the opposite way, between
    ``max_momentum`` and ``base_momentum``. ``max_lr``, ``base_momentum`` and
    ``max_momentum`` take one value, or a list with one per param group.

    It is set per step, not per epoch: call ``step()`` after each batch,
    ``total_steps`` times at most.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        if total_steps is not None:
            if isinstance(total_steps, bool) or not isinstance(total_steps, int) \
                    or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got "
                                 f"{total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise ValueError(f"Expected positive integer {name}, but got {value!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND "
                             "steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got "
                             f"{pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        warm_end = float(pct_start * self.total_steps) - 1
        # Each phase: (last step, start and end lr keys, start and end momentum keys).
        if three_phase:
            self._phases = [
                (warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"),
                (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]

        groups = optimizer.param_groups
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, group_max_lr in zip(groups, max_lrs):
                group["initial_lr"] = group_max_lr / div_factor
                group["max_lr"] = group_max_lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, high, low in zip(groups, max_momentums, base_momentums):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, momentum):
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        """The lrs at ``last_epoch``; also sets each group's momentum (or beta1)."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total "
                             f"steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, start_lr, end_lr, start_m, end_m) in enumerate(self._phases):
                if step <= end_step or i == len(self._phases) - 1:
                    if end_step == start_step:
                        raise ValueError(
                            f"OneCycleLR: pct_start * total_steps makes a phase of no steps "
                            f"(total_steps={self.total_steps}); choose a pct_start that "
                            f"gives each phase at least one step")
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[start_lr], group[end_lr], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[start_m], group[end_m],
                                                               pct))
                    break
                start_step = end_step
        return lrs


def _per_group(name, optimizer, value):
    """One value per param group, from a single value or a list of them."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"expected {n} values for {name}, got {len(value)}")
        return list(value)
    return [value] * n


class SequentialLR(LRScheduler):
    """Runs ``schedulers`` one after another, switching at the ``milestones``
    (``len(schedulers) - 1`` of them, in increasing order): ``schedulers[i]``
    sets the lr from epoch ``milestones[i - 1]`` on. At its milestone a
    schedule restarts from its own epoch 0 (its closed form from the initial
    lrs, e.g. ``base_lr`` for :class:`CosineAnnealingLR`), not from the lr the
    previous one reached. The usual linear warm-up over ``W`` of ``T`` steps::

        warm = LinearLR(opt, start_factor=0.01, total_iters=W)
        decay = CosineAnnealingLR(opt, T_max=T - W)
        sched = SequentialLR(opt, [warm, decay], milestones=[W])

    The paper's schedule has its warm-up built in (``LambdaLR(opt, noam_lambda(d_model,
    W))`` alone); any other :class:`LambdaLR` follows a warm-up the same way::

        sched = SequentialLR(opt, [warm, LambdaLR(opt, lambda e: 0.999 ** e)], milestones=[W])

    Build the schedulers right before it: it resets the lrs to the initial ones
    and takes their first step again. Its state dict holds theirs.
    """

    _not_state = ("optimizer", "_schedulers")

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR expects at least one scheduler, but got none")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"SequentialLR expects LRSchedulers, but schedulers[{i}] "
                                f"is {type(scheduler).__name__}")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR expects all schedulers to belong to its "
                                 f"optimizer, but schedulers[{i}] "
                                 f"({type(scheduler).__name__}) schedules another one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, "
                             f"but got {len(schedulers)} schedulers and "
                             f"{len(milestones)} milestones")
        if milestones != sorted(milestones):
            raise ValueError(f"SequentialLR expects milestones in increasing order, "
                             f"got {milestones}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        # Each scheduler took a step when it was made: undo them, and take only
        # the step of the scheduler that runs at epoch 0 again.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_first_steps(self)
        first = schedulers[bisect.bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @classmethod
    def _undo_first_steps(cls, scheduler):
        if isinstance(scheduler, SequentialLR):
            for inner in scheduler._schedulers:
                cls._undo_first_steps(inner)
        else:
            scheduler.last_epoch -= 1

    def step(self):
        """Step the scheduler that runs at the new epoch, or start it at its epoch 0
        if its milestone is this epoch."""
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._jump_to(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        """Its state, with the schedulers' state dicts under ``'_schedulers'``."""
        state = super().state_dict()
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        """Restore a :meth:`state_dict`, the schedulers' states included (all
        checked before any is loaded)."""
        _check_state_dict(self, state_dict)
        if "_schedulers" not in state_dict:
            raise KeyError("the state dict has no '_schedulers' entry: it is not a "
                           "SequentialLR's")
        states = state_dict["_schedulers"]
        if len(states) != len(self._schedulers):
            raise ValueError(f"the state dict holds {len(states)} schedulers' states, "
                             f"but this SequentialLR has {len(self._schedulers)} schedulers")
        for scheduler, state in zip(self._schedulers, states):
            _check_state_dict(scheduler, state)
        super().load_state_dict(state_dict)
        for scheduler, state in zip(self._schedulers, states):
            scheduler.load_state_dict(state)


def noam_lambda(d_model, warmup):
    """The lr factor of "Attention Is All You Need" (section 5.3), for :class:`LambdaLR`::

        factor(step) = d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)

    It rises linearly for ``warmup`` steps, peaks at ``(d_model * warmup)**-0.5``
    and then decays as ``step**-0.5``. The scheduler's first lr is at step 0,
    where the formula is undefined; it is taken as step 1 (``max(step, 1)``).
    Use it with base lr 1 (``Adam(..., lr=1.0, betas=(0.9, 0.98), eps=1e-9)``)
    for the paper's schedule, or another base lr to scale it.
    """
    if not d_model > 0 or not warmup > 0:
        raise ValueError(f"noam_lambda expects d_model > 0 and warmup > 0, "
                         f"got d_model={d_model!r}, warmup={warmup!r}")

    def factor(step):
        step = max(step, 1)
        return d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)

    return factor
