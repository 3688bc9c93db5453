r"""Utilities on modules and parameters: spectral normalisation, gradient clipping,
flattening parameters into one vector.

Spectral normalisation (Miyato et al., 2018) divides a weight by its largest singular
value :math:`\sigma(W)`, so the layer is 1-Lipschitz (it never stretches any input
difference by more than 1). A GAN critic built from such layers cannot change too fast,
which keeps its gradients useful to the generator.

:math:`\sigma` is estimated by **power iteration**, one step per training forward, on a
vector ``u`` kept between calls (a buffer): because W changes little per optimizer step,
one step per forward is enough to track it::

    v <- W^T u / ||W^T u||,   u <- W v / ||W v||,   sigma = u^T W v  (-> largest singular value)

The gradient flows through W only: u and v are treated as constants, as in PyTorch.
"""
from __future__ import annotations

import math

import numpy as np

from ... import random as _random
from ...autograd import Tensor, no_grad
from ...backend import get_array_module
from ...ops.shape import cat
from ..module import Module, Parameter


def _normalize(array, eps: float):
    """array / max(||array||, eps) (eps avoids dividing by zero)."""
    xp = get_array_module(array)
    return array / max(float(xp.linalg.norm(array)), eps)


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name> = <name>_orig / sigma`` before each
    forward (with one power-iteration step first, in training mode)."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12):
        if n_power_iterations <= 0:
            raise ValueError("spectral_norm: expected n_power_iterations to be positive, "
                             f"but got n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """The weight as a matrix (rows = dim ``dim``): Conv2d's (K, C, R, S) -> (K, C*R*S)."""
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_matrix = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            matrix = weight_matrix.array
            for _ in range(self.n_power_iterations):
                # in place: the buffers (and state_dict views of them) keep the new vectors
                v.array[...] = _normalize(matrix.T @ u.array, self.eps)
                u.array[...] = _normalize(matrix @ v.array, self.eps)
        u_constant, v_constant = Tensor._wrap(u.array.copy()), Tensor._wrap(v.array.copy())
        sigma = (u_constant * (weight_matrix @ v_constant)).sum()
        return weight / sigma

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.array))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Apply spectral normalisation to ``module.<name>`` and return the module.

    After it, the trained parameter is ``<name>_orig``, ``<name>_u`` and ``<name>_v`` are
    buffers (the power-iteration vectors), and ``module.<name>`` is recomputed before every
    forward. ``state_dict`` keys are PyTorch's: "weight_orig", "weight_u", "weight_v".

    Args:
        dim: the dimension of the output features (0, or 1 for ConvTranspose2d, whose
            weight is (C_in, C_out, R, S); the default picks it).
    """
    if dim is None:
        from ..layers import ConvTranspose2d

        dim = 1 if isinstance(module, ConvTranspose2d) else 0
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                               f"parameter {name}")
    hook = SpectralNorm(name, n_power_iterations, dim, eps)
    weight = module._parameters[name]
    height, width = hook.reshape_weight_to_matrix(weight).shape
    generator = _random.default_generator()
    xp = get_array_module(weight.array)
    u = xp.asarray(_normalize(generator.standard_normal(height), eps).astype(weight.dtype))
    v = xp.asarray(_normalize(generator.standard_normal(width), eps).astype(weight.dtype))
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, Tensor._wrap(weight.array))  # a plain attribute until the first forward
    module.register_buffer(name + "_u", Tensor._wrap(u))
    module.register_buffer(name + "_v", Tensor._wrap(v))
    module.register_forward_pre_hook(hook)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``<name>`` becomes a plain Parameter holding W / sigma."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")


def _as_list(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = || (||g_1||, ||g_2||, ...) ||  (the norm of all gradients as one vector);
    every g is multiplied by min(1, max_norm / (total + 1e-6)). Returns ``total``.
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return Tensor._wrap(np.zeros((), dtype=np.float32))
    xp = get_array_module(grads[0].array)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        norms = [float(xp.abs(g.array).max()) for g in grads]
        total = max(norms)
    elif norm_type == 0:  # PyTorch's vector_norm(ord=0): how many are non-zero (no root)
        total = float(sum(1 for g in grads if xp.count_nonzero(g.array)))
    else:
        norms = [float((xp.abs(g.array) ** norm_type).sum()) for g in grads]
        total = sum(norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           "gradients is non-finite; pass error_if_nonfinite=False to clip anyway")
    coefficient = min(max_norm / (total + 1e-6), 1.0)
    for grad in grads:
        # rebinds the array instead of writing into it: a gradient can be a read-only view
        grad.array = (grad.array * coefficient).astype(grad.dtype, copy=False)
    return Tensor._wrap(xp.asarray(total, dtype=grads[0].dtype))


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (differentiable)."""
    return cat([p.reshape(-1) for p in _as_list(parameters)])


def vector_to_parameters(vector: Tensor, parameters) -> None:
    """Copy consecutive slices of ``vector`` into the parameters (the inverse of
    ``parameters_to_vector``), in place."""
    data = vector.array if isinstance(vector, Tensor) else np.asarray(vector)
    offset = 0
    for param in _as_list(parameters):
        count = param.numel()
        param.array[...] = data[offset:offset + count].reshape(param.shape)
        offset += count
    if offset != data.shape[0]:
        raise ValueError(f"vector_to_parameters: the vector has {data.shape[0]} entries, the "
                         f"parameters {offset}")


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for param in _as_list(parameters):
        if param.grad is not None:
            xp = get_array_module(param.grad.array)
            # rebinds the array (a gradient can be a read-only view), as clip_grad_norm_
            param.grad.array = xp.clip(param.grad.array, -clip_value, clip_value).astype(
                param.grad.dtype, copy=False)


# Weight normalisation and parametrizations (their own files; imported last: they build on
# the module classes above)
from . import parametrizations, parametrize  # noqa: E402,F401
from .weight_norm import remove_weight_norm, weight_norm  # noqa: E402,F401
from . import rnn  # noqa: E402,F401  (pad_sequence, PackedSequence, pack_padded_sequence)
