r"""Parametrizations (``torch.nn.utils.parametrize``): a tensor of a module computed from
other tensors every time it is read.

``register_parametrization(layer, "weight", P)`` replaces the parameter ``layer.weight`` by
``P(original)``: what is trained is ``original``, and every read of ``layer.weight`` runs
``P`` on it, inside the autograd graph, so gradients reach ``original`` through ``P``::

    layer.weight  ==  P_n( ... P_2(P_1(original)))       (P_1 registered first)

Where it lives, with PyTorch's names (so ``state_dict`` keys match PyTorch's):

* ``layer.parametrizations.weight`` is a ``ParametrizationList`` (a ``ModuleList`` of
  ``P_1 ... P_n``) holding ``original`` (or ``original0``, ``original1`` ... when ``P_1``'s
  ``right_inverse`` returns several tensors, as weight normalisation's ``(g, v)``);
* ``layer`` becomes an instance of a new subclass, ``Parametrized<Layer>``, with a
  ``weight`` property: reading it computes the chain, assigning to it stores
  ``right_inverse(value)`` into ``original``.

``right_inverse`` (optional on ``P``) maps a value back to an ``original`` that ``P`` turns
into it; when the parametrization is registered it makes ``original`` from the current
weight, so that a registered layer first computes the weight it had.

``with cached():`` computes each parametrized tensor once inside the block (a forward that
reads ``weight`` many times, as an RNN does, pays for ``P`` once).
"""
from __future__ import annotations

import contextlib

from ...autograd import Tensor, no_grad
from ..containers import ModuleList
from ..module import Module, Parameter
from ..module_dict import ModuleDict

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "cached", "type_before_parametrizations", "ParametrizationList"]

_cache_depth = 0
_cache: dict = {}


@contextlib.contextmanager
def cached():
    """Inside, each parametrized tensor is computed once and reused."""
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if _cache_depth == 0:
            _cache.clear()


def _copy_into(parameter: Tensor, value: Tensor) -> None:
    """``parameter``'s values replaced by ``value``'s (same object: optimizers keep it)."""
    array = value.array if isinstance(value, Tensor) else value
    if parameter.array.shape == array.shape and parameter.array.dtype == array.dtype:
        parameter.array[...] = array
    else:
        parameter.array = array.copy()


class ParametrizationList(ModuleList):
    """The chain ``P_1 ... P_n`` of one tensor and its ``original`` (see the module
    docstring). Calling it computes the parametrized tensor."""

    def __init__(self, modules, original: Tensor, unsafe: bool = False):
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            _check_same(original, new, unsafe, "right_inverse")
            # The original object stays (an optimizer made before keeps working with it)
            _copy_into(original, new)
            if isinstance(original, Parameter):
                self.register_parameter("original", original)
            else:
                self.register_buffer("original", original)
        else:
            self.ntensors = len(new)
            for i, tensor in enumerate(new):
                if not isinstance(tensor, Tensor):
                    raise ValueError(f"register_parametrization: right_inverse must return "
                                     f"Tensors or a sequence of Tensors, got "
                                     f"{type(tensor).__name__} at position {i}")
                self.register_parameter(f"original{i}", Parameter(tensor.array.copy(),
                                                                  original.requires_grad))

    def right_inverse(self, value: Tensor) -> None:
        """Store ``value`` as the parametrized tensor: ``original = P^-1(value)``."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                elif not self.unsafe and module is not self[0]:
                    raise RuntimeError(f"parametrization {type(module).__name__} has no "
                                       "right_inverse: the tensor cannot be assigned")
            if self.is_tensor:
                _copy_into(self.original, value)
            else:
                for i, tensor in enumerate(value):
                    _copy_into(getattr(self, f"original{i}"), tensor)

    def forward(self) -> Tensor:
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _check_same(original: Tensor, new: Tensor, unsafe: bool, where: str) -> None:
    if unsafe:
        return
    if new.shape != original.shape or new.dtype != original.dtype:
        raise ValueError(f"register_parametrization: {where} must return a tensor of the "
                         f"same shape and dtype as the original ({tuple(original.shape)}, "
                         f"{original.dtype}), got {tuple(new.shape)}, {new.dtype} (pass "
                         "unsafe=True to allow it)")


def _parametrized_property(name: str) -> property:
    def get(self):
        chain = self.parametrizations[name]
        if _cache_depth:
            key = (id(self), name)
            if key not in _cache:
                _cache[key] = chain()
            return _cache[key]
        return chain()

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(get, set_, doc=f"``{name}``, computed by its parametrizations")


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Has ``module`` any parametrization (of ``tensor_name``, when given)?"""
    chains = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(chains, ModuleDict):
        return False
    return len(chains) > 0 if tensor_name is None else tensor_name in chains


def type_before_parametrizations(module: Module) -> type:
    """The module's class before ``register_parametrization`` made it ``Parametrized...``."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` be ``parametrization(original)`` (see the module
    docstring). A second call on the same name appends to the chain. Returns ``module``."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: parametrization: expected a Module, got "
                        f"{type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        if not unsafe:
            current = getattr(module, tensor_name)
            with no_grad():
                _check_same(current, parametrization(current), unsafe, "the parametrization")
        chain.append(parametrization)
        return module
    if tensor_name in module._parameters:
        original = module._parameters[tensor_name]
    elif tensor_name in module._buffers:
        original = module._buffers[tensor_name]
    else:
        raise ValueError(f"register_parametrization: module {type(module).__name__} has no "
                         f"parameter or buffer named {tensor_name!r}")
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} "
                         "is None")
    if not unsafe:
        with no_grad():
            _check_same(original, parametrization(original), unsafe, "the parametrization")
    chain = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = chain
    setattr(type(module), tensor_name, _parametrized_property(tensor_name))
    return module


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization`` for ``tensor_name``: it becomes a plain parameter
    again, holding the parametrized value (``leave_parametrized=True``) or ``original``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: module {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        original = chain.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            _copy_into(original, value)
    else:
        if not leave_parametrized:
            raise ValueError("remove_parametrizations: leave_parametrized=False is impossible "
                             "when the original is several tensors")
        with no_grad():
            value = getattr(module, tensor_name)
        original = Parameter(value.array.copy(), chain.original0.requires_grad)
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = type(module).__bases__[0]
    return module
