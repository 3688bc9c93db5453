"""``ModuleDict``: a dict of named modules whose parameters the parent module can see.

As ``ModuleList`` does for a list: each value is registered as a child under its key, so
``parameters()`` and ``state_dict()`` ("heads.cls.weight" ...) include it. Keys are
strings and keep their insertion order (PyTorch's ``ModuleDict``).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Iterator, Mapping

from .module import Module


class ModuleDict(Module):
    """``ModuleDict({'conv': Conv2d(1, 8, 3), 'act': ReLU()})``; ``d['conv']``,
    ``d['new'] = layer``, ``del d['act']``, ``'conv' in d``, ``keys()/values()/items()``,
    ``update``, ``pop``, ``clear``. No ``forward``: the parent decides how they are used."""

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r} (keys: {list(self._modules)})")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {type(key).__name__}")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        """Add (or replace) modules from a mapping or from (key, module) pairs."""
        if isinstance(modules, (OrderedDict, ModuleDict, dict, Mapping)):
            pairs = modules.items()
        else:
            pairs = []
            for position, pair in enumerate(modules):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"ModuleDict.update: element {position} should be a "
                                     f"(key, module) pair, got {pair!r}")
                pairs.append(pair)
        for key, module in pairs:
            self[key] = module
