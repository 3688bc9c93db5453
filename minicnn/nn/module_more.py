"""The rest of ``nn.Module``'s everyday API, mixed into ``Module`` (module.py holds the core:
registration, traversal, state_dict, modes, devices): ``half()``, ``type(dtype)``,
``get_parameter``, ``get_buffer``, ``share_memory``."""
from __future__ import annotations

import numpy as np


class ModuleMore:
    def half(self):
        """Cast floating-point parameters and buffers to float16 (in place; returns self)."""
        return self.to(dtype=np.float16)

    def type(self, dst_type):
        """Cast floating-point parameters and buffers to ``dst_type`` (``torch.float64``...)."""
        return self.to(dtype=dst_type)

    def get_parameter(self, target: str):
        """The parameter called ``target`` ("features.0.weight")."""
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target: str):
        """The buffer called ``target`` ("bn.running_mean")."""
        return self._get_member(target, "_buffers", "buffer")

    def _get_member(self, target: str, table: str, kind: str):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        member = getattr(module, table).get(name)
        if member is None:
            raise AttributeError(f"{type(module).__name__} has no {kind} {name!r} "
                                 f"(looking up {target!r})")
        return member

    def share_memory(self):
        """PyTorch moves tensors to shared memory for multiprocessing; minicnn's arrays
        already live in this process's memory, so this returns self."""
        return self

    # -- backward hooks ------------------------------------------------------------------
    def register_full_backward_hook(self, hook):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's inputs have been computed (PyTorch's rule): ``grad_input`` holds one
        entry per positional input (None where it needs no gradient), ``grad_output`` one
        per output. A returned tuple replaces ``grad_input`` (exactly for a module with one
        input that needs a gradient, the usual case). Returns a handle with ``.remove()``."""
        from .module import RemovableHandle

        hooks = self.__dict__.setdefault("_full_backward_hooks", {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def _backward_watch(self, inputs):
        from ..autograd import is_grad_enabled

        hooks = self.__dict__.get("_full_backward_hooks")
        return _BackwardWatch(self, hooks, inputs) if hooks and is_grad_enabled() else None


def _identity(x):
    """y = x as a new node of the graph, so its gradient is this module's share alone."""
    from ..ops.shape import GetItem

    return GetItem.apply(x, index=(Ellipsis,))


class _BackwardWatch:
    """One call's inputs and outputs, routed through identities whose tensor hooks collect
    grad_output and grad_input and call the module's backward hooks once."""

    def __init__(self, module, hooks, inputs):
        from ..autograd import Tensor

        self.module, self.hooks, self.grad_output = module, hooks, None
        self.positions = [i for i, x in enumerate(inputs)
                          if isinstance(x, Tensor) and x.requires_grad]
        self.grad_input = [None] * len(inputs)
        self.pending = set(self.positions)
        self.inputs = tuple(self._watched_input(x, i) if i in self.pending else x
                            for i, x in enumerate(inputs))

    def _watched_input(self, x, position):
        y = _identity(x)
        y.register_hook(lambda grad: self._input_ready(position, grad))
        return y

    def _input_ready(self, position, grad):
        self.grad_input[position] = grad
        self.pending.discard(position)
        if not self.pending:
            replaced = self._fire()
            if replaced is not None:
                return replaced[position]
        return None

    def _fire(self):
        grad_input = tuple(self.grad_input)
        for hook in list(self.hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = tuple(result)
        changed = any(a is not b for a, b in zip(grad_input, self.grad_input))
        return grad_input if changed else None

    def watch_output(self, output):
        from ..autograd import Tensor

        outputs = output if isinstance(output, tuple) else (output,)
        wanted = [i for i, y in enumerate(outputs) if isinstance(y, Tensor) and y.requires_grad]
        if not wanted:
            return output
        self.grad_output = [None] * len(outputs)
        waiting = set(wanted)

        def output_ready(position, grad):
            self.grad_output[position] = grad
            waiting.discard(position)
            if not waiting:
                self.grad_output = tuple(self.grad_output)
                if not self.positions:       # no input needs a gradient: fire now
                    self._fire()

        watched = []
        for i, y in enumerate(outputs):
            if i in waiting:
                y = _identity(y)
                y.register_hook(lambda grad, i=i: output_ready(i, grad))
            watched.append(y)
        return tuple(watched) if isinstance(output, tuple) else watched[0]
