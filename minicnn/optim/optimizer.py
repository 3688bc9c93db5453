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

**Fused steps** (``foreach=True``, the default; PyTorch's ``foreach`` semantics): a
subclass that writes ``_fused_update`` updates all the parameters of a group that share a
dtype and device (a *bucket*) at once. The bucket keeps one flat parameter buffer and
one flat buffer per state entry (``exp_avg`` ...); each parameter's array, and each of its
state tensors, is a view into them, so a step is one ``concatenate`` of the gradients
plus a handful of whole-buffer operations, whatever the number of parameters, and
nothing is copied back. The numbers are the per-parameter loop's, bit for bit: the same
elementwise operations in the same order, on the same scalars.

* At the first fused step each parameter's ``array`` is replaced (once) by a view of the
  flat buffer holding the same values; an array taken from a parameter before then no
  longer follows its updates (take it after, or read ``p.array`` when you need it).
* Whatever replaces a parameter's array or a state tensor later (``Module.to``,
  ``load_state_dict``, ``p.data = ...``) is noticed at the next step (identity, then
  address checks) and the bucket is rebuilt from the current values.
* Only the parameters with a gradient are updated (as in PyTorch); parameters whose
  states disagree (a different step count, a missing momentum buffer) go to different
  buckets. When the set changes, the buckets are rebuilt (a copy of the values).
* A gradient of another dtype, shape or device than its parameter sends its bucket to
  the per-parameter loop for that step (through the same views: the state stays shared).

``foreach=False`` always runs ``_update``, the per-parameter reference (the readable one,
and the tests' oracle for the fused path).

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

    def __init__(self, params, defaults: dict, foreach: bool | None = None):
        if foreach is not None and not isinstance(foreach, bool):
            raise TypeError(f"foreach: expected True, False or None, got {foreach!r}")
        self.foreach = True if foreach is None else foreach
        self._buckets: dict[int, list[_Bucket]] = {}
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
        names = None
        if params and isinstance(params[0], tuple):  # named_parameters(), as PyTorch 2
            if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                       for p in params):
                raise TypeError("optimizer: params: expected Tensors or (name, Tensor) pairs "
                                "(model.named_parameters()), not a mix")
            names, params = [n for n, _ in params], [p for _, p in params]
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {"params": params}
        if names is not None:
            group["param_names"] = names
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
                        param.grad = Tensor._wrap(get_array_module(param.grad.array).zeros_like(
                            param.grad.array))

    def step(self, closure=None):
        """Update every parameter once. ``closure``: a function that recomputes the loss
        (zero_grad, forward, backward) and returns it; its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        fused = self.foreach and _has_fused_step(type(self))
        with no_grad():
            for index, group in enumerate(self.param_groups):
                rest = self._step_fused(index, group) if fused else group["params"]
                for param in rest:
                    if param.grad is not None:
                        self._update(param, param.grad.array, group,
                                     self.state.setdefault(param, {}))
        return loss

    # -- the fused path ----------------------------------------------------------------
    def _step_fused(self, index: int, group: dict) -> list:
        """Update the parameters of ``group`` that have a gradient, one fused step per
        bucket (same dtype, device and ``_phase``); returns the parameters left to the
        per-parameter loop (a gradient of another dtype, shape or device)."""
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return []

        def key_of(param):
            return (param.array.dtype, device_of(param.array),
                    self._phase(self.state.get(param, _EMPTY), group))
        buckets = self._buckets.get(index)
        if buckets is None or not _same_partition(buckets, params, key_of):
            buckets = self._buckets[index] = _partition(params, key_of)
        keys = self._state_keys(group)
        rest = []
        for bucket in buckets:
            members = bucket.params
            xp = get_array_module(members[0].array)
            if not all(_grad_fits(p, xp) for p in members):
                rest += members
                continue
            phase = key_of(members[0])[2]
            if not bucket.valid(self.state, keys):
                bucket.rebuild(self, keys, group)
            states = [self.state[p] for p in members]
            grad = xp.concatenate([p.grad.array.reshape(-1) for p in members])
            self._fused_update(bucket.flat, grad, bucket.buffers, group, states, phase)
        return rest

    def _fused_update(self, param, grad, buffers: dict, group: dict, states: list,
                      phase) -> None:
        """The fused step on one bucket: ``param`` (the flat parameter buffer, updated in
        place), ``grad`` (the flat gradients, a fresh array the step may overwrite),
        ``buffers`` (key -> flat state buffer), ``states`` (the per-parameter state
        dicts, for the step counts), ``phase`` (what ``_phase`` said, the same for all).
        Subclasses that write it get the fused path; it must compute exactly ``_update``."""
        raise NotImplementedError

    def _state_keys(self, group: dict) -> tuple:
        """The state entries that are arrays of the parameter's shape (fused buffers)."""
        return ()

    def _phase(self, state: dict, group: dict):
        """What must be the same for every parameter of a bucket to update them at once
        (the step count, whether a momentum buffer exists ...)."""
        return None

    def _new_state(self, state: dict, group: dict) -> None:
        """Fill the non-array entries of a parameter's empty state (the step count)."""

    def _view_buffers(self, convert) -> None:
        """Replace every flat buffer by ``convert(buffer)`` (a view of the same memory:
        how ``minicnn.profiling`` counts the fused step's operations)."""
        for buckets in self._buckets.values():
            for bucket in buckets:
                bucket.flat = convert(bucket.flat)
                bucket.buffers = {k: convert(v) for k, v in bucket.buffers.items()}

    def _update(self, param: Tensor, grad, group: dict, state: dict) -> None:
        """Update ``param.array`` in place from ``grad`` (an array); ``state`` is this
        parameter's own dict, empty at the first step."""
        raise NotImplementedError(f"{type(self).__name__}._update")

    @staticmethod
    def _zeros_like(param: Tensor) -> Tensor:
        return Tensor._wrap(get_array_module(param.array).zeros_like(param.array))

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
    return Tensor._wrap(array)


# ---------------------------------------------------------------------------------------
# Buckets: flat buffers of one group's parameters of one dtype and device
# ---------------------------------------------------------------------------------------
_EMPTY: dict = {}
_FUSED: dict = {}


def _has_fused_step(cls) -> bool:
    """Whether ``cls`` has a fused step that computes its ``_update``: one written by the
    class that wrote ``_update`` or by a subclass of it (a user's subclass that overrides
    ``_update`` alone gets the per-parameter loop, its own math)."""
    if cls not in _FUSED:
        def owner(name):
            return next(c for c in cls.__mro__ if name in c.__dict__)
        fused, update = owner("_fused_update"), owner("_update")
        _FUSED[cls] = fused is not Optimizer and issubclass(fused, update)
    return _FUSED[cls]


def _address(array) -> int:
    if isinstance(array, np.ndarray):
        return array.__array_interface__["data"][0]
    return array.data.ptr      # a CuPy array


def _same_memory(a, b) -> bool:
    """Whether ``a`` is ``b`` or a view of exactly the same memory."""
    return a is b or (a.shape == b.shape and a.dtype == b.dtype
                      and a.strides == b.strides and device_of(a) == device_of(b)
                      and _address(a) == _address(b))


def _plain(array):
    """A NumPy array as a plain ndarray (not a subclass's view); CuPy arrays as they are."""
    return array.view(np.ndarray) if isinstance(array, np.ndarray) else array


def _grad_fits(param: Tensor, xp) -> bool:
    grad = param.grad
    return (grad is not None and grad.array.dtype == param.array.dtype
            and grad.array.shape == param.array.shape
            and get_array_module(grad.array) is xp)


def _same_partition(buckets: list, params: list, key_of) -> bool:
    """Whether ``buckets`` hold exactly ``params``, each bucket's members with one key."""
    if sum(len(b.params) for b in buckets) != len(params):
        return False
    ids = {id(p) for p in params}
    for bucket in buckets:
        key = key_of(bucket.params[0])
        if any(id(p) not in ids or key_of(p) != key for p in bucket.params):
            return False
    return True


def _partition(params: list, key_of) -> list:
    """One bucket per key (dtype, device, phase) among ``params``, in their order."""
    groups: dict = {}
    for param in params:
        groups.setdefault(key_of(param), []).append(param)
    return [_Bucket(members) for members in groups.values()]


class _Bucket:
    """Parameters of one dtype and device: their flat buffer ``flat`` (parameters'
    arrays are views of it), the flat state buffers, and what was handed out (to notice
    when something replaced a parameter's array or a state tensor)."""

    def __init__(self, params: list):
        self.params = params
        self.flat = None
        self.buffers: dict = {}
        self.views: list = []
        self.states: list = []
        self.tensors: dict = {}     # key -> the state Tensors made (one per parameter)
        self.arrays: dict = {}      # key -> their arrays as made

    def __getstate__(self):
        """A copy (deepcopy, pickle) holds the parameters only: copying would part the views
        from their buffer, so the copy rebuilds its buffers at its first step."""
        return {"params": self.params}

    def __setstate__(self, state):
        self.__init__(state["params"])

    def valid(self, state: dict, keys: tuple) -> bool:
        """Whether every parameter's array and state tensor is still the one handed out
        (or a view of the same memory, adopted then)."""
        if self.flat is None or tuple(self.buffers) != tuple(keys):
            return False
        for i, param in enumerate(self.params):
            if param.array is not self.views[i]:
                if not _same_memory(param.array, self.views[i]):
                    return False
                self.views[i] = param.array
            own = state.get(param)
            if own is not self.states[i]:
                return False
            for key in keys:
                tensor = own.get(key)
                if tensor is not self.tensors[key][i]:
                    return False
                if tensor.array is not self.arrays[key][i]:
                    if not _same_memory(tensor.array, self.arrays[key][i]):
                        return False
                    self.arrays[key][i] = tensor.array
        return True

    def rebuild(self, optimizer: Optimizer, keys: tuple, group: dict) -> None:
        """New flat buffers holding the current values: parameters' arrays and state
        tensors become views of them (missing state entries start at zero)."""
        params = self.params
        first = params[0].array
        xp = get_array_module(first)
        sizes = [p.array.size for p in params]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()

        def views_of(flat):
            return [flat[offsets[i]:offsets[i + 1]].reshape(p.array.shape)
                    for i, p in enumerate(params)]

        self.flat = _plain(xp.concatenate([p.array.reshape(-1) for p in params]))
        self.views = views_of(self.flat)
        for param, view in zip(params, self.views):
            param.array = view
        self.states, self.buffers, self.tensors, self.arrays = [], {}, {}, {}
        for param in params:
            own = optimizer.state.setdefault(param, {})
            if not own:
                optimizer._new_state(own, group)
            self.states.append(own)
        device = device_of(first)
        for key in keys:
            if all(own.get(key) is None for own in self.states):     # fresh: one fill
                flat = _plain(xp.zeros(offsets[-1], dtype=first.dtype))
                self._hand_out(key, flat, views_of)
                continue
            parts = []
            for param, own in zip(params, self.states):
                old = own.get(key)
                if old is None:
                    parts.append(xp.zeros(param.array.size, dtype=first.dtype))
                else:
                    array = to_device(old.array, device).astype(first.dtype, copy=False)
                    parts.append(array.reshape(-1))
            self._hand_out(key, _plain(xp.concatenate(parts)), views_of)

    def _hand_out(self, key: str, flat, views_of) -> None:
        """Make ``flat`` the buffer of state entry ``key``: each parameter's entry becomes
        a Tensor viewing its slice."""
        self.buffers[key] = flat
        self.arrays[key] = views_of(flat)
        self.tensors[key] = [Tensor._wrap(a) for a in self.arrays[key]]
        for own, tensor in zip(self.states, self.tensors[key]):
            own[key] = tensor
