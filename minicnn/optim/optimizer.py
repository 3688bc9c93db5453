"""``Optimizer``: what every optimizer shares (parameter groups, per-parameter state,
``zero_grad``, ``state_dict``), with PyTorch's data layout.

* ``param_groups``: a list of dicts, each ``{"params": [tensors], "lr": ..., ...}``.
  Different groups may have different hyperparameters (a smaller lr for a pretrained
  backbone, no weight decay for biases).
* ``state``: a dict from parameter to its own running values (momentum buffer, Adam's
  moment estimates, the step count).

Subclasses write one method, ``step``: for each parameter with a gradient, read
``p.grad.array`` and update ``p.array`` in place. The update works on raw arrays (no graph is
built, and a parameter stays the same object), with ``xp = get_array_module(p.array)`` so it
runs on CuPy too; Python-float hyperparameters keep float32 arrays float32.

``state_dict()`` is PyTorch's format: ``{"state": {index: {...}}, "param_groups":
[{"lr": ..., "params": [index, ...]}]}``, parameters replaced by their position across
all groups, so it can be saved and loaded into an optimizer built on a fresh model.
"""
from __future__ import annotations

import copy

import numpy as np

from ..autograd import Tensor, enable_grad, no_grad
from ..backend import device_of, get_array_module, to_device


class Optimizer:
    """Base class. ``params``: an iterable of tensors, or of dicts (parameter groups) each
    with a "params" entry and optional hyperparameter overrides. ``defaults``: the
    hyperparameters a group gets when it does not set them."""

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: dict = {}
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with its own hyperparameters) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {"params": params}
        for name, default in self.defaults.items():
            group[name] = param_group.get(name, default)
        for name in param_group:
            if name not in group:
                group[name] = param_group[name]
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward: ``grad = None`` (default; the
        step skips such parameters) or zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    if set_to_none:
                        param.grad = None
                    else:
                        param.grad = Tensor(get_array_module(param.grad.array).zeros_like(
                            param.grad.array))

    def step(self, closure=None):
        """Update every parameter once. ``closure``: a function that recomputes the loss
        (zero_grad, forward, backward) and returns it; its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is not None:
                        self._update(param, param.grad.array, group,
                                     self.state.setdefault(param, {}))
        return loss

    def _update(self, param: Tensor, grad, group: dict, state: dict) -> None:
        """Update ``param.array`` in place from ``grad`` (an array); ``state`` is this
        parameter's own dict, empty at the first step."""
        raise NotImplementedError(f"{type(self).__name__}._update")

    @staticmethod
    def _zeros_like(param: Tensor) -> Tensor:
        return Tensor(get_array_module(param.array).zeros_like(param.array))

    # -- saving and loading ------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}`` (see the module docstring).
        The state's tensors are shared, not copied: ``save`` it to keep a snapshot."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(param)]: value for param, value in self.state.items()
                 if id(param) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load hyperparameters and per-parameter state saved by ``state_dict()`` (ours or
        a PyTorch optimizer's of the same kind). Arrays are copied and cast to each
        parameter's dtype and device; the step count stays a number."""
        groups, saved_groups = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(groups)}")
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict's parameter group {i} has "
                                 f"{len(saved['params'])} parameters, the optimizer's has "
                                 f"{len(group['params'])}")
        param_of = {index: param for group, saved in zip(groups, saved_groups)
                    for index, param in zip(saved["params"], group["params"])}
        self.state = {}
        for index, values in state_dict["state"].items():
            param = param_of.get(int(index))
            if param is None:
                continue
            self.state[param] = {key: _state_value(key, value, param)
                                 for key, value in values.items()}
        for group, saved in zip(groups, saved_groups):
            for key, value in saved.items():
                if key != "params":
                    group[key] = copy.deepcopy(value)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}"
            for key in sorted(group):
                if key != "params":
                    text += f"\n    {key}: {group[key]}"
        return text + "\n)"


def _state_value(key: str, value, param: Tensor):
    """A saved state entry made ready for ``param``: tensors copied to its dtype and
    device, the step count as a Python int."""
    if key == "step":
        return int(np.asarray(value.numpy() if isinstance(value, Tensor) else value).item())
    if isinstance(value, Tensor):
        array = value.array
    elif hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        array = value.detach().cpu().numpy()
    elif isinstance(value, np.ndarray) or get_array_module(value) is not np:
        array = value
    else:
        return copy.deepcopy(value)
    array = to_device(array, device_of(param.array)).astype(param.dtype, copy=True)
    return Tensor(array)
