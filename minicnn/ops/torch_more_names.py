"""More of PyTorch's top-level names, each a short composition of existing ops:

* comparison spellings: ``greater``, ``greater_equal``, ``less``, ``less_equal``,
  ``not_equal``; ``rsub(input, other, alpha)`` = other - alpha * input; ``row_stack``;
* dtype questions: ``result_type``, ``promote_types``, ``can_cast`` (PyTorch's rule: no
  cast to a lower category, bool < integer < floating), ``is_signed``, ``isreal``,
  ``is_conj`` / ``is_neg`` (False: no complex or lazy-negation tensors here);
* ``isposinf``, ``isneginf``, ``isin``, ``gcd``, ``lcm`` (no gradient: booleans and
  integers);
* ``diagflat``, ``matrix_power`` (repeated products; a negative power inverts first),
  ``slogdet`` (sign, log|det|; the log differentiates through det), ``cov`` and
  ``corrcoef`` (rows are variables, as PyTorch), ``nanmedian`` (the lower median of the
  non-NaN values), ``unravel_index``;
* window functions: ``hann_window``, ``hamming_window``, ``blackman_window``,
  ``bartlett_window`` (periodic by default, as PyTorch).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, as_tensor
from ..backend import DEFAULT_DTYPE, get_array_module, result_type as _result_type
from .math import abs as _abs, ge, gt, le, log, lt, matmul, ne, sqrt
from .shape import reshape, transpose
from .torch_errors import RuntimeTypeError, RuntimeValueError

greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input (``torch.rsub``)."""
    return other - (input * alpha if alpha != 1 else input)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad: bool = False):
    """``torch.asarray``: a tensor from obj (shares a NumPy array's memory unless a dtype
    change or ``copy=True`` makes a copy)."""
    import minicnn

    out = (minicnn.tensor(obj, dtype=dtype, device=device) if copy
           else minicnn.as_tensor(obj, dtype, device))
    return out.requires_grad_() if requires_grad else out


def detach(input: Tensor) -> Tensor:
    """``torch.detach(x)``, the same as ``x.detach()``."""
    return input.detach()


def row_stack(tensors) -> Tensor:
    """``vstack`` under its other name."""
    from .shape_more import vstack

    return vstack(tensors)


def result_type(tensor1, tensor2) -> np.dtype:
    """The dtype PyTorch gives ``tensor1 op tensor2`` (tensors or Python numbers)."""
    return np.dtype(_result_type(tensor1, tensor2))


def _category(dtype) -> int:
    kind = np.dtype(dtype).kind
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[kind]


def promote_types(type1, type2) -> np.dtype:
    """The dtype both promote to, PyTorch's rule: a higher category wins outright (int64
    with float16 is float16), within one category the smallest that holds both (uint8 with
    int8 is int16)."""
    a, b = np.dtype(type1), np.dtype(type2)
    if _category(a) != _category(b):
        return a if _category(a) > _category(b) else b
    return np.dtype(np.promote_types(a, b))


def can_cast(from_, to) -> bool:
    """True unless the cast would lower the category (float -> int, int -> bool ...)."""
    return _category(from_) <= _category(to)


def is_signed(input: Tensor) -> bool:
    """True for signed integer and floating dtypes (uint8 and bool are not)."""
    return input.dtype.kind in "if"


def isreal(input: Tensor) -> Tensor:
    """True everywhere: minicnn's tensors are real."""
    return Tensor._wrap(get_array_module(input.array).ones(input.shape, dtype=bool))


def is_conj(input: Tensor) -> bool:
    return False


is_neg = is_conj


def isposinf(input: Tensor) -> Tensor:
    return Tensor._wrap(get_array_module(input.array).isposinf(input.array))


def isneginf(input: Tensor) -> Tensor:
    return Tensor._wrap(get_array_module(input.array).isneginf(input.array))


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """True where an element of ``elements`` is among ``test_elements`` (either may be a
    number)."""
    a = as_tensor(elements).array
    b = as_tensor(test_elements).array
    xp = get_array_module(a)
    return Tensor._wrap(xp.asarray(xp.isin(a, b, assume_unique=assume_unique, invert=invert)))


def _integer_pair(op: str, input, other):
    a, b = as_tensor(input), as_tensor(other, like=as_tensor(input))
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        raise RuntimeTypeError(f"{op}: expected integer tensors, got {a.dtype} and {b.dtype} "
                               f"(PyTorch: not implemented for floating types)")
    dtype = np.dtype(_result_type(input, other))
    return a.array.astype(dtype), b.array.astype(dtype)


def gcd(input, other) -> Tensor:
    """The elementwise greatest common divisor (non-negative) of integer tensors."""
    a, b = _integer_pair("gcd", input, other)
    return Tensor._wrap(get_array_module(a).gcd(a, b))


def lcm(input, other) -> Tensor:
    """The elementwise least common multiple (non-negative) of integer tensors."""
    a, b = _integer_pair("lcm", input, other)
    return Tensor._wrap(get_array_module(a).lcm(a, b))


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D matrix with the flattened input on its ``offset`` diagonal."""
    from .diagonals import diag

    return diag(reshape(input, (-1,)), offset)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """input^n for square matrices (batched): n = 0 the identity, n < 0 inverse(input)^-n."""
    if input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise RuntimeValueError(f"matrix_power: input: expected square matrices (..., n, n), "
                                f"got shape {input.shape}")
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"matrix_power: n: expected an int, got {type(n).__name__}")
    xp = get_array_module(input.array)
    if n == 0:
        eye = xp.broadcast_to(xp.eye(input.shape[-1], dtype=input.dtype), input.shape)
        return Tensor._wrap(xp.ascontiguousarray(eye))
    if n < 0:
        from ..linalg import inv

        input, n = inv(input), -n
    result, base = None, input
    while n:  # square and multiply
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def slogdet(input: Tensor):
    """``(sign, logabsdet)`` of det(input) (sign 0 and logabsdet -inf when singular)."""
    from collections import namedtuple

    from ..linalg import det

    d = det(input)
    sign = Tensor._wrap(get_array_module(d.array).sign(d.array))
    with np.errstate(divide="ignore"):
        return namedtuple("slogdet", ["sign", "logabsdet"])(sign, log(_abs(d)))


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance of the rows (variables) over the columns (observations)."""
    if fweights is not None or aweights is not None:
        raise RuntimeValueError("cov: fweights and aweights are not supported here; weight "
                                "the observations yourself")
    if input.ndim > 2:
        raise RuntimeValueError(f"cov: input: expected at most 2 dims, got shape {input.shape}")
    x = reshape(input, (1, -1)) if input.ndim < 2 else input
    if x.dtype.kind not in "fc":
        x = x.to(DEFAULT_DTYPE)
    n = x.shape[1]
    centred = x - x.mean(1, keepdim=True)
    out = matmul(centred, transpose(centred, 0, 1)) / max(n - correction, 0)
    return reshape(out, ()) if input.ndim < 2 else out


def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation of the rows (cov normalised by the standard deviations)."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    from .diagonals import diagonal

    std = sqrt(diagonal(c))
    return c / (reshape(std, (-1, 1)) * reshape(std, (1, -1)))


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median of the non-NaN values (NaN only when all are NaN)."""
    from .reduce_linalg_more import median
    from .sort_scan import sort

    if dim is not None:
        raise RuntimeValueError("nanmedian: dim is not supported here; use dim=None")
    flat = reshape(input, (-1,))
    keep = ~get_array_module(flat.array).isnan(flat.array)
    if not keep.any():
        return median(flat)
    values = sort(flat[Tensor._wrap(keep)], 0).values
    return values[(values.shape[0] - 1) // 2]


def unravel_index(indices, shape) -> tuple:
    """The coordinates of flat ``indices`` in an array of ``shape`` (int64 tensors)."""
    flat = as_tensor(indices).array
    if flat.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: indices: expected an integer tensor, got {flat.dtype}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    size = math.prod(shape)
    if flat.size and (flat.min() < -size or flat.max() >= size):
        raise RuntimeValueError(f"unravel_index: indices must be in [{-size}, {size - 1}] for "
                                f"shape {shape}")
    coords = np.unravel_index(np.asarray(flat) % max(size, 1), shape)
    return tuple(Tensor._wrap(np.asarray(c, dtype=np.int64)) for c in coords)


def _window(name: str, length: int, periodic: bool, dtype, coefficients) -> Tensor:
    if length < 0:
        raise RuntimeValueError(f"{name}: window_length: expected >= 0, got {length}")
    dtype = np.dtype(dtype or DEFAULT_DTYPE)
    if length <= 1:
        return Tensor._wrap(np.ones(length, dtype=dtype))
    n = length + 1 if periodic else length
    k = np.arange(length) * (2 * np.pi / (n - 1))
    values = sum(c * np.cos(i * k) for i, c in enumerate(coefficients))
    return Tensor._wrap(values.astype(dtype))


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, **_) -> Tensor:
    return _window("hann_window", window_length, periodic, dtype, (0.5, -0.5))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, **_) -> Tensor:
    return _window("hamming_window", window_length, periodic, dtype, (alpha, -beta))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, **_) -> Tensor:
    return _window("blackman_window", window_length, periodic, dtype, (0.42, -0.5, 0.08))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, **_) -> Tensor:
    if window_length < 0:
        raise RuntimeValueError(f"bartlett_window: window_length: expected >= 0, got "
                                f"{window_length}")
    dtype = np.dtype(dtype or DEFAULT_DTYPE)
    if window_length <= 1:
        return Tensor._wrap(np.ones(window_length, dtype=dtype))
    n = window_length + 1 if periodic else window_length
    k = np.arange(window_length) * (2.0 / (n - 1))
    return Tensor._wrap(np.where(k <= 1, k, 2 - k).astype(dtype))


__all__ = ["greater", "greater_equal", "less", "less_equal", "not_equal", "rsub", "row_stack",
           "asarray", "detach",
           "result_type", "promote_types", "can_cast", "is_signed", "isreal", "is_conj",
           "is_neg", "isposinf", "isneginf", "isin", "gcd", "lcm", "diagflat", "matrix_power",
           "slogdet", "cov", "corrcoef", "nanmedian", "unravel_index", "hann_window",
           "hamming_window", "blackman_window", "bartlett_window"]



def methods() -> dict:
    """{Tensor method name: function}."""
    return {name: globals()[name] for name in (
        "is_signed", "isreal", "is_conj", "is_neg", "isposinf", "isneginf", "gcd", "lcm",
        "diagflat", "matrix_power", "slogdet", "nanmedian")}
