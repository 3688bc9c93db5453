r"""Spectral and weight normalisation as parametrizations (``torch.nn.utils.parametrizations``),
the newer form of ``nn.utils.spectral_norm`` / ``nn.utils.weight_norm`` (see
``parametrize.py`` for how a parametrization works).

**Spectral norm** (Miyato et al., 2018): ``weight = W / sigma(W)``, with ``sigma`` the
largest singular value of W seen as a matrix (rows: dim ``dim``). ``sigma`` is tracked by
power iteration on buffers ``_u`` (rows) and ``_v`` (columns), one step (``n_power_
iterations``) per read in training mode, 15 when the parametrization is made::

    u <- W v / ||W v||,   v <- W^T u / ||W^T u||,   sigma = u^T W v

u and v are constants for the gradient (it flows through W only). A 1-D weight is divided
by its norm. State dict keys: ``parametrizations.weight.original``,
``parametrizations.weight.0._u``, ``parametrizations.weight.0._v`` (PyTorch's).

**Weight norm** (Salimans & Kingma, 2016): ``weight = g * v / ||v||``, the norm taken over
every dim but ``dim`` (so ``g`` has size 1 on those), or over the whole tensor when ``dim``
is None. ``original0`` is ``g``, ``original1`` is ``v``, made from the weight so that the
layer starts with the weight it had.
"""
from __future__ import annotations

from ... import random as _random
from ...autograd import Tensor, no_grad
from ...backend import get_array_module
from ..module import Module
from .parametrize import register_parametrization

__all__ = ["spectral_norm", "weight_norm"]


def _normalized(array, eps: float):
    xp = get_array_module(array)
    return array / max(float(xp.linalg.norm(array)), eps)


class _SpectralNorm(Module):
    """``W -> W / sigma(W)`` (see the module docstring)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12):
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < max(ndim, 1):
            raise IndexError(f"spectral_norm: dim: expected in [{-ndim}, {ndim - 1}], got {dim}")
        if n_power_iterations <= 0:
            raise ValueError("spectral_norm: expected n_power_iterations to be positive, but "
                             f"got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps, self.n_power_iterations = eps, n_power_iterations
        if ndim > 1:
            matrix = self._matrix(weight).array
            generator = _random.default_generator()
            xp = get_array_module(matrix)
            u = xp.asarray(generator.standard_normal(matrix.shape[0])).astype(matrix.dtype)
            v = xp.asarray(generator.standard_normal(matrix.shape[1])).astype(matrix.dtype)
            self.register_buffer("_u", Tensor._wrap(_normalized(u, eps)))
            self.register_buffer("_v", Tensor._wrap(_normalized(v, eps)))
            self._power_method(matrix, 15)

    def _matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, matrix, iterations: int) -> None:
        """Power iteration on the buffers, in place (state_dict views see the new values)."""
        for _ in range(iterations):
            self._u.array[...] = _normalized(matrix @ self._v.array, self.eps)
            self._v.array[...] = _normalized(matrix.T @ self._u.array, self.eps)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return weight / (weight * weight).sum().sqrt().clamp(min=self.eps)
        matrix = self._matrix(weight)
        if self.training:
            with no_grad():
                self._power_method(matrix.array, self.n_power_iterations)
        u, v = Tensor._wrap(self._u.array.copy()), Tensor._wrap(self._v.array.copy())
        sigma = (u * (matrix @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        """Any W is a valid original (W / sigma(W) is what ``forward`` makes of it)."""
        return value


def _default_dim(module: Module) -> int:
    from ..conv1d import ConvTranspose1d
    from ..layers import ConvTranspose2d

    return 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Register spectral normalisation on ``module.<name>`` and return the module. ``dim``
    (output features): 1 for transposed convolutions, else 0 (the default picks it)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"spectral_norm: module {type(module).__name__} has no parameter or "
                         f"buffer named {name!r}")
    dim = _default_dim(module) if dim is None else dim
    return register_parametrization(module, name,
                                    _SpectralNorm(weight, n_power_iterations, dim, eps))


def norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    """The 2-norm of ``v`` over every dim but ``dim`` (size 1 there, kept for broadcasting),
    or over all of ``v`` when ``dim`` is None or -1 (a 0-d tensor)."""
    if dim is None or dim == -1:
        return (v * v).sum().sqrt()
    others = tuple(d for d in range(v.ndim) if d != dim)
    return (v * v).sum(dim=others, keepdim=True).sqrt()


class _WeightNorm(Module):
    """``(g, v) -> g * v / ||v||`` (see the module docstring)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor):
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Register weight normalisation on ``module.<name>`` and return the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"weight_norm: module {type(module).__name__} has no parameter or "
                         f"buffer named {name!r}")
    if dim is not None and dim != -1 and not -weight.ndim <= dim < weight.ndim:
        raise IndexError(f"weight_norm: dim: expected in [{-weight.ndim}, {weight.ndim - 1}] "
                         f"or None, got {dim}")
    if dim is not None and dim < -1:
        dim += weight.ndim
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

