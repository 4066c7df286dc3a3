"""Containers: ``Sequential`` (f = f_L ∘ ... ∘ f_1), ``ModuleList`` and ``ModuleDict``."""

from collections import OrderedDict

from .module import Module


class Sequential(Module):
    """Applies its modules in order: h⁽ᵏ⁾ = f_k(h⁽ᵏ⁻¹⁾). ``Sequential(m1, m2, ...)`` or ``Sequential(OrderedDict)``."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(name, _check(m, name))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _check(m, i))

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[idx][1]

    def append(self, module):
        """Add ``module`` at the end (named by its position)."""
        self.add_module(str(len(self._modules)), _check(module, len(self._modules)))
        return self


class ModuleList(Module):
    """A list of sub-modules, registered so that their parameters are found."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        """Add ``module`` at the end (named by its position)."""
        self.add_module(str(len(self._modules)), _check(module, len(self._modules)))
        return self

    def extend(self, modules):
        """Append every module of ``modules``."""
        for m in modules:
            self.append(m)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        values = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(values[idx])
        return values[idx]

    def __setitem__(self, idx, module):
        key = list(self._modules.keys())[idx]
        self.add_module(key, _check(module, idx))

    def forward(self, *args):
        raise TypeError("ModuleList has no forward(); iterate over it and call the modules")


class ModuleDict(Module):
    """A dict of named sub-modules (insertion order), registered so that their parameters are found."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules):
        """Add or replace entries from a dict or (name, module) pairs."""
        items = modules.items() if hasattr(modules, "items") else modules
        for name, m in items:
            self[name] = m

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings, got {type(key).__name__}")
        self.add_module(key, _check(module, key))

    def __delitem__(self, key):
        del self._modules[key]
        object.__delattr__(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        """The task/module names, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

    def forward(self, *args):
        raise TypeError("ModuleDict has no forward(); call its modules by name")


def _check(m, name):
    if not isinstance(m, Module):
        raise TypeError(f"container entry {name!r} must be an nn.Module, got {type(m).__name__}")
    return m
