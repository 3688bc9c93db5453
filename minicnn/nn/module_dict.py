"""``ModuleDict``: a dict of named modules whose parameters the parent module can see.

As ``ModuleList`` does for a list: each value is registered as a child under its key, so
``parameters()`` and ``state_dict()`` ("heads.cls.weight" ...) include it. Keys are
strings and keep their insertion order (PyTorch's ``ModuleDict``).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Iterator, Mapping

from .module import Module


class _NamedDict(Module):
    """The dict protocol over one of the module's own registries (``_registry``: the
    name of its ``_modules`` or its ``_parameters``), shared by ``ModuleDict`` and
    ``ParameterDict``. ``_noun`` names what it holds in errors."""

    _registry, _noun = "_modules", "module"

    def _entries(self) -> dict:
        return getattr(self, self._registry)

    def __getitem__(self, key: str):
        entries = self._entries()
        if key not in entries:
            raise KeyError(f"{type(self).__name__} has no {self._noun} {key!r} (keys: "
                           f"{list(entries)})")
        return entries[key]

    def __delitem__(self, key: str) -> None:
        del self._entries()[key]

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __contains__(self, key) -> bool:
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        self._entries().clear()


class ModuleDict(_NamedDict):
    """``ModuleDict({'conv': Conv2d(1, 8, 3), 'act': ReLU()})``; ``d['conv']``,
    ``d['new'] = layer``, ``del d['act']``, ``'conv' in d``, ``keys()/values()/items()``,
    ``update``, ``pop``, ``clear``. No ``forward``: the parent decides how they are used."""

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {type(key).__name__}")
        self.add_module(key, module)

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
