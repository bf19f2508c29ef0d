"""Optimizer: the base every update rule shares.

It keeps the parameters in *param groups*, as PyTorch does: a list of dicts,
each holding ``'params'`` (a list of tensors) and that group's options
(``'lr'``, ...). Schedulers change ``group['lr']`` between steps; the update
rules read their options from the group at every step.

A subclass supplies ``update(param, grad, state, group)``: the rule for one
parameter, vectorised over its elements, writing into ``param.data`` in place
so that views of the array and tied parameters see the new values. ``grad``
is the gradient's ndarray (:func:`~microattn.nn.utils.grad_array`), whether
``param.grad`` holds an ndarray or a Tensor.
"""
import numbers
from collections import defaultdict
from collections.abc import Iterable, Mapping

import numpy as np

from ..core import Tensor, enable_grad
from ..core import hooks
from ..nn.utils import grad_array, zero_grads


class Optimizer:
    """Base class of the optimisers.

    ``params`` is an iterable of tensors, or of dicts ``{'params': [...],
    option: value, ...}`` giving each group its own options; ``defaults``
    fills the options a group leaves out.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.check_options(self.defaults)
        # Per-parameter state (momentum buffers, moment estimates), keyed by the
        # tensor itself: tensors hash by identity.
        self.state = defaultdict(dict)
        self.param_groups = []
        expected = ("params argument given to the optimizer should be an iterable of "
                    "Tensors or dicts")
        if isinstance(params, Tensor):
            raise TypeError(f"{expected}, but got a Tensor: wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{expected}, but got {type(params).__name__}: a set's order "
                            "changes between runs (and with it which state belongs to "
                            "which parameter), so use a list")
        if not isinstance(params, Iterable):
            raise TypeError(f"{expected}, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def check_options(self, options):
        """Raise TypeError for an option of the wrong type and ValueError for one
        outside its range; may normalise an option in place, e.g. betas to a
        tuple (subclasses override)."""

    def add_param_group(self, param_group):
        """Add a group of parameters, with options that override the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group should be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be in an ordered collection "
                            "(a set's order changes between runs): use a list")
        elif params is None:
            raise ValueError("a param group needs a 'params' entry")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                hint = (" (pass parameters(), not named_parameters())"
                        if isinstance(p, tuple) else "")
                raise TypeError(f"optimizer can only optimize Tensors, "
                                f"but one of the params is {type(p).__name__}{hint}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor: optimise the leaf "
                                 "it was computed from (or a .detach() of it)")
        if len(set(params)) != len(params):
            raise ValueError("a param group holds the same parameter more than once")
        if not {p for g in self.param_groups for p in g["params"]}.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.check_options(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set ``.grad`` to None (the default), or fill it with zeros."""
        for group in self.param_groups:
            zero_grads(group["params"], set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient; parameters whose ``.grad`` is
        None are left alone. ``closure``, if given, re-evaluates the model with
        grad enabled and returns the loss, which ``step`` returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                grad = grad_array(p)
                if grad is not None:
                    self.update(p, grad, self.state[p], group)
                    # an in-place write: a graph that saved p before the step may not reuse it
                    hooks.wrote(p._data, f"{type(self).__name__}.step")
        return loss

    def update(self, param, grad, state, group):
        """Apply the update rule to one parameter (subclasses implement)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    # -- saving and resuming -------------------------------------------------
    def state_dict(self):
        """A snapshot of the optimiser, in PyTorch's layout::

            {'state': {index: {'step': ..., 'exp_avg': ndarray, ...}},
             'param_groups': [{'lr': ..., ..., 'params': [index, ...]}]}

        Parameters are named by their position across the groups (0, 1, ...),
        so the dict can be loaded into an optimiser built over other tensors of
        the same shapes. Arrays are copies: training on does not change it.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(p, len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[p]: {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                            for k, v in s.items()}
                 for p, s in self.state.items() if p in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a snapshot from :meth:`state_dict`. The groups must hold as many
        parameters as when it was taken, and state arrays the parameters' shapes;
        arrays are copied in (cast to the parameter's dtype). Everything is
        checked first: on an error nothing has changed."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got "
                            f"{type(state_dict).__name__}: pass what "
                            f"{type(self).__name__}.state_dict() returned")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(f"the optimizer state dict has no {key!r} entry (it holds "
                               f"{sorted(map(str, state_dict))}): pass what "
                               f"{type(self).__name__}.state_dict() returned")
        saved_groups, saved_states = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not all(
                isinstance(g, Mapping) and isinstance(g.get("params"), (list, tuple))
                for g in saved_groups):
            raise TypeError("the optimizer state dict's 'param_groups' should be a list of "
                            "dicts, each with a 'params' list")
        if not isinstance(saved_states, Mapping) or not all(
                isinstance(s, Mapping) for s in saved_states.values()):
            raise TypeError("the optimizer state dict's 'state' should be a dict of dicts "
                            "(one per parameter index)")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"but the optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"parameter group {i} of the loaded state dict holds "
                                 f"{len(saved['params'])} parameters, but the optimizer's "
                                 f"holds {len(group['params'])}")
        indices = [index for saved in saved_groups for index in saved["params"]]
        if not all(isinstance(index, int) for index in indices):
            raise TypeError("the optimizer state dict's param groups should list parameters "
                            "by int index")
        if len(set(indices)) != len(indices):
            raise ValueError("the optimizer state dict's param groups list a parameter "
                             "index more than once")
        params = {index: p for saved, group in zip(saved_groups, self.param_groups)
                  for index, p in zip(saved["params"], group["params"])}

        state = defaultdict(dict)
        for index, saved_state in saved_states.items():
            if index not in params:
                raise ValueError(f"loaded state dict has state for parameter {index!r}, "
                                 f"which none of its param groups lists")
            p = params[index]
            state[p] = {k: self._load_array(v, p, k, index) for k, v in saved_state.items()}

        groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {**group, **{k: v for k, v in saved.items() if k != "params"},
                         "params": group["params"]}
            self.check_options(new_group)
            groups.append(new_group)
        self.state, self.param_groups = state, groups

    @staticmethod
    def _load_array(value, param, key, index):
        if isinstance(value, Tensor):
            value = value._data
        if not isinstance(value, np.ndarray):
            return value
        if value.shape != param.shape:
            raise ValueError(f"state {key!r} of parameter {index} has shape {value.shape}, "
                             f"but the parameter has shape {param.shape}")
        dtype = param.dtype if value.dtype.kind == "f" else value.dtype
        return np.array(value, dtype=dtype, copy=True)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def check_number(name, value):
    """Raise TypeError naming the option if ``value`` is not a real number."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid {name}: expected a number, got {type(value).__name__} "
                        f"{value!r}")


def check_nonnegative(options, *names):
    """Raise TypeError naming the first option that is not a number, ValueError
    for the first that is negative (or NaN)."""
    for name in names:
        check_number(name, options[name])
        if not options[name] >= 0:
            raise ValueError(f"Invalid {name}: {options[name]!r} (expected {name} >= 0)")
