"""``Module`` and ``Parameter``: the containers that hold a network's weights.

A ``Module`` is an object with a ``forward`` method and three ordered dictionaries:

* ``_parameters``: ``Parameter``s, the tensors an optimizer trains (weights, biases);
* ``_buffers``: tensors that are state but not trained (BatchNorm's running mean);
* ``_modules``: child modules (the layers of a network).

Assigning an attribute files the value in the right dictionary (``__setattr__``)::

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(4, 2)                          # -> _modules["fc"]
            self.scale = Parameter(mc.ones(2))              # -> _parameters["scale"]
            self.register_buffer("steps", mc.zeros(()))     # -> _buffers["steps"]

Everything else (``parameters()``, ``state_dict()``, ``to()``, ``train()``) is a walk over
that tree. The walk's order is the order of assignment, parameters before buffers before
children, exactly as PyTorch's, so ``state_dict()`` keys ("fc.weight", "fc.bias", ...)
match a PyTorch model built the same way and weights move between the two both ways.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Callable, Iterator

import numpy as np

from ..autograd import Tensor, no_grad
from ..tensor_data import _to_array
from ..backend import device_of, get_array_module, normalize_device, to_device
from .module_more import ModuleMore


class Parameter(Tensor):
    """A Tensor that a ``Module`` registers as trainable (``requires_grad=True`` by default).

    ``Parameter(data)`` shares ``data``'s array (as ``torch.nn.Parameter`` shares storage).
    """

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        if not isinstance(data, Tensor) and not hasattr(data, "dtype"):
            data = _to_array(data, np.float32)  # lists and numbers: float32 (trainable)
        elif not isinstance(data, Tensor):
            data = _to_array(data)  # arrays keep their dtype
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class RemovableHandle:
    """Returned by ``register_forward_pre_hook``/``register_forward_hook``: ``.remove()``."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _as_array_like(value, like):
    """``value`` (a minicnn Tensor, NumPy array, or anything with ``__array__`` such as a
    torch tensor) as an array of ``like``'s dtype, on ``like``'s device."""
    if isinstance(value, Tensor):
        array = value.array
    elif hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        array = value.detach().cpu().numpy()
    else:
        array = np.asarray(value)
    array = to_device(array, device_of(like))
    return array.astype(like.dtype, copy=False)


def _shape_repr(shape) -> str:
    return f"({', '.join(str(s) for s in shape)})" if len(shape) != 1 else f"({shape[0]},)"


def _add_indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module(ModuleMore):
    """Base class of every layer and network. Subclasses define ``forward``.

    Call a module (``module(x)``), not ``module.forward(x)``: ``__call__`` runs the
    forward hooks (spectral norm uses one) around ``forward``.

    Attributes:
        training: True in training mode (dropout drops, BatchNorm uses batch statistics),
            False after ``eval()``.
    """

    def __init__(self):
        # object.__setattr__ because our own __setattr__ needs these dicts to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def __call__(self, *inputs, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, inputs)
            if result is not None:
                inputs = result if isinstance(result, tuple) else (result,)
        watch = self._backward_watch(inputs) if "_full_backward_hooks" in self.__dict__ else None
        output = self.forward(*(inputs if watch is None else watch.inputs), **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, inputs, output)
            if result is not None:
                output = result
        return output if watch is None else watch.watch_output(output)

    # -- registration ------------------------------------------------------------------
    def _check_name(self, name, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"{kind} name can't contain \".\" or be empty, got {name!r}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a trainable tensor (or None, a declared-but-absent parameter like a bias)."""
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute {name!r} already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} object to parameter "
                            f"{name!r} (minicnn.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a state tensor that is saved in ``state_dict`` (unless ``persistent=False``)
        and moved by ``to()``, but never trained."""
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} object to buffer {name!r} "
                            "(minicnn Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module (``self.name = module`` does the same)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        self._modules[name] = module

    register_module = add_module

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, inputs)`` runs before ``forward``; a non-None result replaces the
        inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, inputs, output)`` runs after ``forward``; a non-None result
        replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def __setattr__(self, name: str, value) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            if name in params:  # replaced where it stands: state_dict order is kept
                params[name] = value
                return
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(minicnn.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            if name not in self._modules:  # a replaced child keeps its place (as PyTorch)
                self._forget(name)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                "(a Module or None expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(a minicnn Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Remove ``name`` from every place an attribute can live before re-filing it."""
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: look in the three dictionaries
        for store in ("_parameters", "_buffers", "_modules"):
            values = self.__dict__.get(store)
            if values is not None and name in values:
                return values[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # -- walking the tree --------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """(name, module) for this module and every descendant, depth first, self first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator["Module"]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, store: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """("layer.weight", Parameter) pairs; a parameter shared by two layers appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> "Module":
        """The descendant called ``target`` ("features.0")."""
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            module = module._modules[part]
        return module

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every child (recursively), then on self; returns self.
        Typical use: ``model.apply(init_weights)``."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- modes and gradients -----------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode (``mode=True``) or evaluation mode, for self and all children."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode should be a bool, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze every parameter, e.g. a GAN's critic while the
        generator trains."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``grad = None`` (default) or zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                xp = get_array_module(param.grad.array)
                param.grad = Tensor._wrap(xp.zeros_like(param.grad.array))

    # -- state_dict --------------------------------------------------------------------
    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """Every parameter and persistent buffer by dotted name, in PyTorch's order:
        for each module (self first, then children depth first) its parameters, then its
        buffers. Values are detached tensors sharing the module's arrays (``keep_vars=True``
        gives the Parameters themselves). Copy them (``save``) to keep a snapshot."""
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False):
        """Copy values into this module's parameters and buffers, in place.

        Values may be minicnn Tensors, NumPy arrays or torch tensors; each is cast to the
        receiving tensor's dtype and device. The receiving Parameter objects stay the same
        objects, so an optimizer built before loading keeps working.

        Errors (as PyTorch's, all listed at once in one ``RuntimeError``):
        ``Missing key(s)`` and ``Unexpected key(s)`` when ``strict``, and ``size mismatch``
        always.

        Returns:
            ``(missing_keys, unexpected_keys)`` as a named tuple.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        if assign:  # the given tensors become the parameters (nn/_load_assign.py)
            return __import__("minicnn.nn._load_assign", fromlist=["load"]).load(
                self, state_dict, strict)
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
            if shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{_shape_repr(shape)} from checkpoint, the shape in current "
                              f"model is {_shape_repr(target.shape)}.")
                continue
            with no_grad():
                target.array[...] = _as_array_like(value, target.array)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # -- moving and casting ------------------------------------------------------------
    def _apply_to_tensors(self, convert: Callable, floating_only: bool) -> "Module":
        """Replace the array of every parameter, gradient and buffer by ``convert(array)``,
        keeping the Parameter objects (optimizers hold references to them)."""
        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for tensor in store.values():
                    if tensor is None or (floating_only and tensor.dtype.kind != "f"):
                        continue
                    tensor.array = convert(tensor.array)
                    if tensor.grad is not None:
                        tensor.grad = Tensor._wrap(convert(tensor.grad.array))
        return self

    def to(self, *args, device=None, dtype=None, non_blocking=False,
           memory_format=None) -> "Module":
        """``model.to('cuda')``, ``model.to(mc.float64)``, ``model.to(device=, dtype=)``.
        In place (returns self). Casting touches floating-point tensors only
        (BatchNorm's integer ``num_batches_tracked`` stays int64). ``non_blocking`` and
        ``memory_format`` are accepted as PyTorch's and change nothing here."""
        for arg in args:
            if isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "gpu"):
                device = arg
            elif isinstance(arg, str):
                try:
                    dtype = np.dtype(arg)  # "float64"
                except TypeError:
                    raise ValueError(f"Module.to: expected a device ('cpu', 'cuda', 'cuda:N') "
                                     f"or a dtype, got {arg!r}") from None
            else:
                dtype = arg  # np.float64, mc.float64
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to: only floating-point dtypes are allowed, got {dtype}")
            self._apply_to_tensors(lambda a: a.astype(dtype, copy=False), floating_only=True)
        if device is not None:
            device = normalize_device(device)
            self._apply_to_tensors(lambda a: to_device(a, device), floating_only=False)
        return self

    def double(self) -> "Module":
        return self.to(dtype=np.float64)

    def float(self) -> "Module":
        return self.to(dtype=np.float32)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self) -> "Module":
        return self.to("cuda")

    # -- printing ----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _add_indent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = type(self).__name__ + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
