"""Containers: ModuleList, ModuleDict and Sequential hold modules and register them.

Containers run no ops of their own, so they add no level to the module paths
recorded on graph nodes; instead each child is named with the container's
name as a prefix (``layers.0``). A node made inside the first layer of
``decoder.layers`` is then recorded under ``decoder.layers.0`` whether the
layer is called through the container or picked out by index.
"""
from collections import OrderedDict

from .module import Module


def _numbered(modules):
    return [(str(i), module) for i, module in enumerate(modules)]


class _Container(Module):
    def _set_name(self, name):
        super()._set_name(name)
        for key, child in self._modules.items():
            if child is not None:
                child._set_name(self._child_name(key))

    def _child_name(self, key):
        return f"{self._name}.{key}" if self._name else key

    def _index(self, idx):
        """``idx`` as a position in 0..len-1, counting negative ones from the end."""
        if not isinstance(idx, int):
            raise TypeError(f"{type(self).__name__} indices must be integers or slices, "
                            f"not {type(idx).__name__}")
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} "
                             f"of length {n}")
        return idx % n

    def _renumber(self, modules):
        """Re-register ``modules`` under the keys 0, 1, 2, ... (after an insert or delete)."""
        for key in list(self._modules):
            delattr(self, key)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def _unregistered(self, items):
        """A container of the same kind holding the ``(key, module)`` pairs ``items``
        that leaves the modules' names as they are: a slice is a view for picking
        layers, not a new parent."""
        view = type(self)()
        for key, module in items:
            view._modules[key] = module
            object.__setattr__(view, key, module)
        return view

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(_Container):
    """A list of modules, registered so their parameters belong to the parent.
    Indexing, ``len``, iteration, ``append``, ``extend`` and ``insert`` as a list."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._unregistered(_numbered(list(self._modules.values())[idx]))
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx, module):
        self.add_module(str(self._index(idx)), module)

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        del modules[idx if isinstance(idx, slice) else self._index(idx)]
        self._renumber(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)


class ModuleDict(_Container):
    """An ordered dict of modules, registered so their parameters belong to the parent."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module


class Sequential(_Container):
    """Modules applied one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.
    Takes modules positionally (named 0, 1, ...) or one OrderedDict of named modules."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for key, module in modules[0].items():
                self.add_module(key, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def __call__(self, input):
        # No path component of its own: the children carry the prefix (see above).
        return self.forward(input)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return self._unregistered(list(self._modules.items())[idx])
        return list(self._modules.values())[self._index(idx)]

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self
