"""``Module.load_state_dict(state_dict, assign=True)``, as PyTorch's: the module's
parameters and buffers become the given tensors (their dtype and memory kept; a
parameter keeps the module's ``requires_grad``) instead of receiving a copy."""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor


def _as_tensor(value) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        return Tensor._wrap(np.array(value.detach().cpu().numpy()))
    return Tensor._wrap(np.asarray(value))


def load(module, state_dict: dict, strict: bool):
    """Check as the copying load does (missing/unexpected keys, size mismatches: one
    RuntimeError), then replace each parameter and buffer by the state dict's tensor."""
    from .module import Parameter

    result = module.load_state_dict(state_dict, strict)  # the checks (and a copy)
    for key, old in module.state_dict(keep_vars=True).items():
        if key not in state_dict:
            continue
        owner_name, _, name = key.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        value = _as_tensor(state_dict[key])
        if name in owner._parameters:
            if not isinstance(value, Parameter):
                value = Parameter(value, requires_grad=old.requires_grad)
            else:
                value.requires_grad = old.requires_grad
            owner._parameters[name] = value
        elif name in owner._buffers:
            owner._buffers[name] = value
    return result
