"""More random draws, as PyTorch's: ``normal``, ``multinomial``, ``poisson``,
``randint_like``, and the in-place fills ``random_``, ``bernoulli_``, ``exponential_``,
``geometric_``, ``log_normal_``, ``cauchy_``.

Every draw comes from minicnn's global generator (``mc.manual_seed``) or the
``generator=`` given (a ``minicnn.Generator`` or a NumPy one). The results are constants:
no gradient flows through a draw (PyTorch's have none either; write the
reparameterisation ``mean + std * randn_like(std)`` to differentiate through one).

* ``normal(mean, std)``: mean and std tensors (or numbers) broadcast together; with two
  numbers, ``size`` gives the shape.
* ``multinomial(input, n, replacement)``: ``input`` (k,) or (m, k) holds non-negative
  weights (not necessarily summing to 1); each row draws ``n`` category indices (int64).
  Without replacement a category is drawn at most once, so ``n <= k``: the draw is the
  top ``n`` of ``log w + Gumbel noise`` (the Gumbel-top-k trick, the same distribution as
  drawing one by one and removing what was drawn).
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..autograd import Tensor
from ..backend import DEFAULT_DTYPE
from .torch_errors import RuntimeValueError
from .arg_checks import need_tensor

__all__ = ["normal", "multinomial", "poisson", "randint_like"]


def _rng(generator):
    return _random.numpy_generator(generator)


def _array(value):
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def _on_device_of(array, like) -> Tensor:
    out = Tensor._wrap(array)
    device = getattr(like, "device", "cpu")
    return out if device == "cpu" else out.to(device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None) -> Tensor:
    """Samples of N(mean, std^2), elementwise over broadcast mean and std."""
    mean_a, std_a = _array(mean), _array(std)
    if np.any(std_a < 0):
        raise RuntimeValueError(f"normal: std: expected values >= 0, got a minimum of "
                                f"{std_a.min()}")
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if size is None:
        shape = np.broadcast_shapes(mean_a.shape, std_a.shape)
    elif tensors:
        raise ValueError("normal: size: give size only when mean and std are numbers")
    else:
        shape = tuple(size)
    dtype = dtype or (tensors[0].dtype if tensors and tensors[0].dtype.kind == "f"
                      else DEFAULT_DTYPE)
    draws = _rng(generator).normal(mean_a, std_a, shape).astype(dtype)
    return _on_device_of(draws, tensors[0] if tensors else None)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Category indices drawn with probabilities proportional to ``input``'s rows."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: input: expected a Tensor, got {type(input).__name__}")
    weights = input.numpy().astype(np.float64)
    if weights.ndim not in (1, 2):
        raise RuntimeValueError(f"multinomial: input: expected 1 or 2 dims, got shape "
                                f"{input.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeValueError("multinomial: input: probabilities must be finite and >= 0")
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeValueError("multinomial: input: every row needs a positive sum")
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeValueError(f"multinomial: num_samples: expected a positive int, got "
                                f"{num_samples!r}")
    categories = rows.shape[1]
    if not replacement and num_samples > np.count_nonzero(rows, axis=1).min():
        raise RuntimeValueError(f"multinomial: cannot draw {num_samples} samples without "
                                f"replacement from rows with fewer non-zero categories (of "
                                f"{categories})")
    rng = _rng(generator)
    if replacement:
        # one searchsorted for all rows: row r's cumulative sums shifted into (r, r + 1]
        cumulative = np.cumsum(rows / rows.sum(axis=1, keepdims=True), axis=1)
        cumulative[:, -1] = 1.0
        shift = np.arange(rows.shape[0])[:, None]
        uniform = rng.random((rows.shape[0], num_samples)) + shift
        drawn = np.searchsorted((cumulative + shift).ravel(), uniform.ravel(), side="right")
        drawn = np.minimum(drawn.reshape(uniform.shape) - shift * categories, categories - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = np.log(rows) + rng.gumbel(size=rows.shape)
        drawn = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    drawn = drawn.astype(np.int64).reshape(weights.shape[:-1] + (num_samples,))
    return _on_device_of(drawn, input)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson draws with rates ``input`` (>= 0), in input's dtype."""
    need_tensor("poisson", input=input)
    rates = _array(input)
    if np.any(rates < 0):
        raise RuntimeValueError("poisson: input: rates must be >= 0")
    return _on_device_of(np.asarray(_rng(generator).poisson(rates)).astype(input.dtype), input)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, generator=None) -> Tensor:
    """Integers in [low, high) with input's shape (``randint_like(x, high)`` as PyTorch)."""
    need_tensor("randint_like", input=input)
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeValueError(f"randint_like: expected low < high, got low={low}, high={high}")
    draws = _rng(generator).integers(low, high, size=input.shape)
    return _on_device_of(draws.astype(dtype or input.dtype), input)


# -- in-place fills -----------------------------------------------------------------------
def _fill(name: str, draw):
    def method(self, *args, generator=None, **kwargs):
        from .inplace import apply_in_place

        values = np.asarray(draw(_rng(generator), self, *args, **kwargs))
        return apply_in_place(self, lambda x: Tensor._wrap(values.astype(x.dtype)), name)

    method.__name__ = name
    return method


def _random_values(rng, x, low=None, high=None):
    """``random_()``: integers in [0, 2^mantissa] for floats, the dtype's range for ints;
    ``random_(high)`` [0, high); ``random_(low, high)`` [low, high)."""
    if low is not None and high is None:
        low, high = 0, low
    if low is None:
        low = 0
        high = (2 ** (np.finfo(x.dtype).nmant + 1) + 1 if x.dtype.kind == "f"
                else 2 if x.dtype.kind == "b" else int(np.iinfo(x.dtype).max))
    return rng.integers(low, high, size=x.shape)


def _positive(name: str, value: float, what: str):
    if not value > 0:
        raise RuntimeValueError(f"{name}: {what}: expected a positive number, got {value}")


def methods() -> dict:
    def exponential(rng, x, lambd=1.0):
        _positive("exponential_", lambd, "lambd")
        return rng.exponential(1.0 / lambd, x.shape)

    def geometric(rng, x, p):
        if not 0 < p <= 1:
            raise RuntimeValueError(f"geometric_: p: expected a probability in (0, 1], got {p}")
        return rng.geometric(p, x.shape)

    def log_normal(rng, x, mean=1.0, std=2.0):
        _positive("log_normal_", std, "std")
        return rng.lognormal(mean, std, x.shape)

    def cauchy(rng, x, median=0.0, sigma=1.0):
        _positive("cauchy_", sigma, "sigma")
        return median + sigma * rng.standard_cauchy(x.shape)

    def bernoulli(rng, x, p=0.5):
        probability = _array(p)
        if np.any(probability < 0) or np.any(probability > 1):
            raise RuntimeValueError("bernoulli_: p: expected probabilities in [0, 1]")
        return rng.random(x.shape) < probability

    return {"multinomial": multinomial, "random_": _fill("random_", _random_values),
            "exponential_": _fill("exponential_", exponential),
            "geometric_": _fill("geometric_", geometric),
            "log_normal_": _fill("log_normal_", log_normal),
            "cauchy_": _fill("cauchy_", cauchy), "bernoulli_": _fill("bernoulli_", bernoulli)}
