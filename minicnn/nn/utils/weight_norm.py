r"""Weight normalisation, the hook form (``torch.nn.utils.weight_norm``; the newer
``parametrizations.weight_norm`` does the same as a parametrization).

Salimans & Kingma (2016) split a weight into a direction and a length::

    w = g * v / ||v||        (||v|| over every dim but ``dim``; over all of v if dim is None)

and train ``g`` and ``v`` instead of ``w``: the length no longer depends on the direction's
scale, which conditions gradient descent better. After ``weight_norm(layer)`` the layer has
parameters ``weight_g`` and ``weight_v`` (PyTorch's names) and ``layer.weight`` is
recomputed from them before every forward.
"""
from __future__ import annotations

from ...autograd import Tensor, no_grad
from ..module import Module, Parameter
from .parametrizations import norm_except_dim

__all__ = ["weight_norm", "remove_weight_norm", "WeightNorm"]


class WeightNorm:
    """The forward pre-hook that sets ``module.<name> = g * v / ||v||``."""

    def __init__(self, name: str, dim: int):
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Apply weight normalisation to ``module.<name>`` (see the module docstring) and return
    the module. ``dim=None`` normalises over the whole tensor."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter "
                               f"{name}")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"weight_norm: module {type(module).__name__} has no parameter "
                         f"named {name!r}")
    dim = -1 if dim is None else dim
    if dim < -1:
        dim += weight.ndim
    hook = WeightNorm(name, dim)
    with no_grad():
        g = norm_except_dim(weight, dim)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(g.array.copy()))
    module.register_parameter(name + "_v", Parameter(weight.array.copy()))
    setattr(module, name, hook.compute_weight(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``<name>`` becomes a plain Parameter holding g * v / ||v||."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, WeightNorm) and hook.name == name:
            with no_grad():
                weight = hook.compute_weight(module)
            delattr(module, name)
            delattr(module, name + "_g")
            delattr(module, name + "_v")
            module.register_parameter(name, Parameter(weight.array))
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
