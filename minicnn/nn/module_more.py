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
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters or module._parameters[name] is None:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r} "
                                 f"(looking up {target!r})")
        return module._parameters[name]

    def get_buffer(self, target: str):
        """The buffer called ``target`` ("bn.running_mean")."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._buffers or module._buffers[name] is None:
            raise AttributeError(f"{type(module).__name__} has no buffer {name!r} "
                                 f"(looking up {target!r})")
        return module._buffers[name]

    def share_memory(self):
        """PyTorch moves tensors to shared memory for multiprocessing; minicnn's arrays
        already live in this process's memory, so this returns self."""
        return self
