"""Module and Parameter: the building blocks every layer and model is made of.

A Module owns Parameters (trainable tensors), buffers (non-trainable tensors,
such as a positional-encoding table) and child Modules. Assigning one as an
attribute registers it, so ``parameters()``, ``state_dict()``, ``train()`` and
``double()`` reach the whole tree without any bookkeeping in the layers.

Each module also knows its name in its parent (``self_attn``, ``layers.0``);
calling it pushes that name onto the engine's module stack, so every graph
node made inside records a dotted path such as ``decoder.layers.0.self_attn``.
The path is built from the modules actually running, so a layer called on its
own, outside its model, records only its own name.
"""
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from ..core import Tensor, get_default_dtype
from ..core.dtype import as_dtype, check_device
from ..core.grad_mode import state
from ..core.tensor import silenced, unwrap
from .utils import zero_grads


def check_sizes(layer, **sizes):
    """Refuse a layer size that is not a non-negative int, naming the layer and
    the argument (numpy would say "negative dimensions are not allowed")."""
    for name, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{layer}: {name} must be an int, got {n!r}")
        if n < 0:
            raise RuntimeError(f"{layer}: {name} must be non-negative, got {n}")


class Parameter(Tensor):
    """A tensor that is a trainable weight of a Module: it requires grad, and
    assigning it as a Module attribute registers it.

    ``Parameter(t)`` shares the data of tensor ``t``; other data (ndarrays,
    lists) is copied, as by ``ma.tensor``. Only floating tensors can be parameters.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=get_default_dtype())
        super().__init__(data)  # copies, by the dtype rules of ma.tensor ...
        if isinstance(data, Tensor):
            self._data = data._data  # ... but a Parameter of a tensor shares its data, as PyTorch
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign Parameters, buffers
    and submodules as attributes, and define ``forward``; the module is then
    called like a function: ``y = layer(x)``.
    """

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist.
        set_plain = object.__setattr__
        set_plain(self, "_parameters", {})
        set_plain(self, "_buffers", {})
        set_plain(self, "_non_persistent_buffers", set())
        set_plain(self, "_modules", {})
        set_plain(self, "_name", "")
        set_plain(self, "training", True)

    # -- calling -----------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): define forward(self, ...) in the "
            "subclass to say what calling the module computes")

    def __call__(self, *args, **kwargs):
        """forward(), with the nodes it records knowing their module's dotted path
        (``decoder.layers.0.self_attn``) for pictures of the graph."""
        parent = state.module_path
        state.module_path = f"{parent}.{self._name}" if parent and self._name else (
            self._name or parent)
        try:
            with silenced():  # numpy's inf/nan warnings off, once for the whole forward
                return self.forward(*args, **kwargs)
        finally:
            state.module_path = parent

    # -- registration --------------------------------------------------------
    # Registered objects live in the registry dicts *and* in the instance
    # __dict__, so that reading ``self.weight`` in forward is a plain attribute
    # lookup; every change goes through __setattr__/__delattr__ to keep them in step.
    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif name in self.__dict__.get("_parameters", ()):
            self.register_parameter(name, value)  # None, or a TypeError naming the value
        elif name in self.__dict__.get("_modules", ()):
            self.add_module(name, value)
        elif name in self.__dict__.get("_buffers", ()):
            self.register_buffer(name, value, name not in self._non_persistent_buffers)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name, keep=None):
        """Drop ``name`` from every registry but ``keep`` (re-registering a name in
        its own registry keeps its place in the order, as PyTorch)."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def _check_new_name(self, name, kind):
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{kind} name must be a non-empty string without '.', got {name!r}")
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot register {kind} '{name}' before "
                                 f"{type(self).__name__}.__init__ calls super().__init__()")
        if hasattr(type(self), name):
            raise KeyError(f"cannot register {kind} '{name}': {type(self).__name__} already "
                           "has a class attribute of that name")

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as ``bias=False``)."""
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {type(param).__name__} as parameter '{name}' "
                            "(a Parameter or None expected)")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register a tensor that is part of the module's state but not trained
        (e.g. a positional-encoding table). ``double()``/``float()`` convert it;
        ``state_dict()`` includes it unless ``persistent=False``."""
        self._check_new_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot register {type(tensor).__name__} as buffer '{name}' "
                            "(a Tensor or None expected)")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        """Register ``module`` (or None) as the child called ``name``."""
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"cannot add {type(module).__name__} as child module '{name}' "
                            "(a Module or None expected)")
        self._forget(name, keep=self._modules)
        self._modules[name] = module
        if module is not None:
            module._set_name(self._child_name(name))
        object.__setattr__(self, name, module)

    def _set_name(self, name):
        """Learn the path component this module pushes when called."""
        object.__setattr__(self, "_name", name)

    def _child_name(self, key):
        """The name a child registered under ``key`` pushes when called (containers,
        which run no ops themselves, prefix their own name instead)."""
        return key

    # -- walking the tree ----------------------------------------------------
    def named_children(self):
        """``(name, module)`` for each direct child."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix="", remove_duplicate=True, _seen=None):
        """``(dotted_name, module)`` for this module and all below it, parents
        first; a module reachable twice is listed once unless ``remove_duplicate=False``."""
        seen = set() if _seen is None else _seen
        if remove_duplicate:
            if self in seen:
                return
            seen.add(self)
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name,
                                           remove_duplicate, seen)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def _named_members(self, registry, recurse, remove_duplicate, prefix=""):
        modules = (self.named_modules(prefix, remove_duplicate) if recurse
                   else [(prefix, self)])
        seen = set()
        for module_name, module in modules:
            for name, tensor in getattr(module, registry).items():
                if tensor is None or (remove_duplicate and id(tensor) in seen):
                    continue
                seen.add(id(tensor))
                yield (f"{module_name}.{name}" if module_name else name), tensor

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted_name, Parameter)`` pairs, e.g. ``layers.0.linear1.weight``, in
        registration order; a shared parameter appears once, under its first name."""
        return self._named_members("_parameters", recurse, remove_duplicate, prefix)

    def parameters(self, recurse=True):
        """Every Parameter of this module (and, with ``recurse``, its children), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", recurse, remove_duplicate, prefix)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target):
        """The module at dotted path ``target`` ("" is this module)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule '{part}' "
                                     f"(looking up '{target}')")
            module = child
        return module

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively), then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def num_parameters(self):
        """How many trainable numbers the module holds (shared parameters counted once)."""
        return sum(p._data.size for p in self.parameters() if p.requires_grad)

    # -- state ---------------------------------------------------------------
    def state_dict(self):
        """Ordered ``{dotted_name: Tensor}`` of every parameter and persistent
        buffer; each tensor is detached but shares the module's data. A
        parameter shared between modules appears under each of its names, as
        in PyTorch."""
        state = {}
        for module_name, module in self.named_modules(remove_duplicate=False):
            prefix = module_name + "." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[prefix + name] = param.detach()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    state[prefix + name] = buffer.detach()
        return state

    # hook(module, state_dict, prefix) may rewrite the keys under prefix in place before
    # a load: a layer's way to accept another layout of its parameters
    _load_state_dict_pre_hooks = ()

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of ``state_dict`` (Tensors or ndarrays) into this module's
        parameters and persistent buffers, in place, casting to their dtypes.

        Nothing is copied unless every entry fits: a value that is not a Tensor or
        ndarray of numbers, a shape mismatch and a dtype that cannot be cast
        (complex into real) are always errors, and with ``strict`` so are missing
        and unexpected keys; one RuntimeError lists all of them. Returns
        ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got "
                            f"{type(state_dict).__name__}.")
        state_dict = dict(state_dict)
        for name, module in self.named_modules():  # e.g. PyTorch's packed q/k/v, unpacked
            for hook in module._load_state_dict_pre_hooks:
                hook(module, state_dict, name + "." if name else "")
        targets = self.state_dict()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        arrays, mismatched = {}, []
        for key, value in state_dict.items():
            if key not in targets:
                continue
            target = targets[key]
            if not isinstance(value, (Tensor, np.ndarray)):
                mismatched.append(f'While copying the parameter named "{key}", expected a '
                                  f"Tensor or ndarray from the checkpoint but received "
                                  f"{type(value).__name__}")
                continue
            array = unwrap(value)
            if array.shape != target.shape:
                mismatched.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{array.shape} from the checkpoint, the shape in the "
                                  f"current model is {target.shape}")
            elif array.dtype.kind not in "biuf" + ("c" if target.dtype.kind == "c" else ""):
                mismatched.append(f"dtype mismatch for {key}: cannot copy {array.dtype} from "
                                  f"the checkpoint into {target.dtype}")
            else:
                arrays[key] = array
        problems = mismatched
        if strict:
            problems = ([f"Missing key(s) in state_dict: {', '.join(map(repr, missing))}"]
                        if missing else []) + (
                [f"Unexpected key(s) in state_dict: {', '.join(map(repr, unexpected))}"]
                if unexpected else []) + mismatched
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        for key, array in arrays.items():
            targets[key]._data[...] = array  # the detached tensor shares the module's array
        return IncompatibleKeys(missing, unexpected)

    # -- modes and dtypes ----------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active) on this module and all below it; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train() expects a bool, got {type(mode).__name__}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Evaluation mode (dropout off): the same as ``train(False)``; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze (True) every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient: set ``.grad`` to None (the default),
        or, with ``set_to_none=False``, fill it with zeros in place."""
        zero_grads(self.parameters(), set_to_none)

    def _cast(self, dtype):
        for tensor in [*self.parameters(), *self.buffers()]:
            if tensor._data.dtype.kind == "f":
                tensor._data = tensor._data.astype(dtype, copy=False)
                if tensor.grad is not None:
                    tensor.grad = np.asarray(tensor.grad).astype(dtype, copy=False)
        return self

    def double(self):
        """Convert floating parameters and buffers to float64 in place; returns self."""
        return self._cast(np.float64)

    def float(self):
        """Convert floating parameters and buffers to float32 in place; returns self."""
        return self._cast(np.float32)

    def half(self):
        """Convert floating parameters and buffers to float16 in place; returns self."""
        return self._cast(np.float16)

    def to(self, *args, **kwargs):
        """``model.to("cpu")``, ``model.to(dtype)``, ``model.to(device, dtype)``: floating
        parameters and buffers converted in place; returns self. Only the CPU exists."""
        where, dtype, _ = parse_to(args, dict(kwargs))
        check_device(where, "Module.to")
        return self if dtype is None or as_dtype(dtype).kind != "f" else self._cast(dtype)

    def cpu(self):
        return self

    def cuda(self, device=None):
        check_device("cuda", "Module.cuda")

    # -- printing ------------------------------------------------------------
    def extra_repr(self):
        """The arguments shown inside this module's ``repr`` (override in layers)."""
        return ""

    def __repr__(self):
        """A tree, as PyTorch prints it: ``Name(extra)`` or ``Name(\\n  (child): ...\\n)``."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(module).replace("\n", "\n  ")
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


def _is_device(arg):
    """A device object (compat's ``ma.device``): it has a type and an index."""
    return hasattr(arg, "type") and hasattr(arg, "index") and not isinstance(arg, type)


def parse_to(args, kwargs):
    """PyTorch's ``to`` overloads: to(dtype), to(device, dtype=None), to(tensor)."""
    where, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, (str, int)) and not isinstance(arg, bool) or _is_device(arg):
            where = arg
        elif isinstance(arg, bool):  # non_blocking / copy given by position
            continue
        else:
            dtype = arg
    return where, dtype, copy
