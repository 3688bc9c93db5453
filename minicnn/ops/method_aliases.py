"""PyTorch Tensor methods (and their ``torch.*`` twins) that are another op under a new
name, or a short composition of ops: ``fix`` (trunc), ``msort`` (sort along dim 0),
``maximum``/``minimum`` as methods, ``broadcast_to`` as a method, ``split_with_sizes``,
``diag_embed``, ``index_put`` / ``put`` (out of place, ``accumulate`` adds repeats up),
and the complex-number views of a real tensor: ``conj``, ``real``, ``mH``, ``adjoint``,
``is_complex`` (minicnn has no complex tensors: these are the real tensor itself or its
transpose, as PyTorch returns for real tensors).

Everything is built from differentiable ops (index puts scatter-add their gradient back;
``index_put`` without accumulate: the last write wins and the input's gradient is zeroed
where it was overwritten, as ``x[index] = value``).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, as_tensor
from ..backend import get_array_module
from .conversion import cast
from .index_ops import Put, split
from .math import maximum, minimum
from .setitem import _positions, index_put as _assign
from .shape import IndexAdd, broadcast_to, reshape, transpose
from .sort_scan import sort
from .torch_errors import RuntimeValueError


def fix(input: Tensor) -> Tensor:
    """Round toward zero (``torch.fix``, the same as ``trunc``)."""
    from .elementwise_extra import trunc

    return trunc(input)


def msort(input: Tensor) -> Tensor:
    """The values sorted along dim 0 (``torch.msort``)."""
    return sort(input, 0).values


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split`` with a list of sizes."""
    return split(input, list(split_sizes), dim)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose ``offset`` diagonal (in the last two dims) holds input's last dim."""
    if (dim1, dim2) not in ((-2, -1), (input.ndim - 1, input.ndim)):
        raise RuntimeValueError(f"diag_embed: only dim1=-2, dim2=-1 (the new last two dims) "
                                f"are supported here, got dim1={dim1}, dim2={dim2}")
    n = input.shape[-1] if input.ndim else 1
    size = n + abs(int(offset))
    xp = get_array_module(input.array)
    i = xp.arange(n)
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    lead = tuple(input.shape[:-1])
    x = input if input.ndim else reshape(input, (1,))
    return Put.apply(x, index=(Ellipsis, rows, cols), shape=lead + (size, size))


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """A copy of input with ``input[indices] = values`` (``accumulate``: ``+=``, repeated
    positions adding up), as PyTorch's out-of-place ``index_put``."""
    index = tuple(indices) if isinstance(indices, (list, tuple)) else (indices,)
    if not accumulate:
        return _assign(input, index, values)
    positions = _positions(input, index)
    values = as_tensor(values, like=input)
    values = values if values.dtype == input.dtype else cast(values, input.dtype)
    values = broadcast_to(values, positions.shape)
    added = IndexAdd.apply(reshape(values, (-1,)), index=positions.reshape(-1),
                           shape=(int(np.prod(input.shape)),))
    return input + reshape(added, input.shape)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of input with its flattened elements at ``index`` set to (``accumulate``:
    increased by) ``source`` (``Tensor.put``)."""
    flat_index = as_tensor(index).array.reshape(-1).astype(np.int64)
    size = int(np.prod(input.shape))
    if flat_index.size and (flat_index.min() < -size or flat_index.max() >= size):
        raise IndexError(f"put: index: values must be in [{-size}, {size - 1}] for "
                         f"{size} elements, got [{flat_index.min()}, {flat_index.max()}]")
    flat = reshape(input, (-1,))
    out = index_put(flat, (Tensor._wrap(flat_index % max(size, 1)),),
                    reshape(as_tensor(source, like=input), (-1,)), accumulate)
    return reshape(out, input.shape)


def _matrix_transpose(input: Tensor) -> Tensor:
    if input.ndim < 2:
        raise RuntimeValueError(f"mH / adjoint: input: expected at least 2 dims, got shape "
                                f"{input.shape}")
    return transpose(input, -2, -1)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate: a real tensor itself (minicnn has no complex dtypes)."""
    return input


def is_complex(input: Tensor) -> bool:
    """False: minicnn has no complex dtypes."""
    return False


adjoint = _matrix_transpose
__all__ = ["fix", "msort", "split_with_sizes", "diag_embed", "index_put", "put", "conj",
           "adjoint", "is_complex"]


def methods() -> dict:
    """{Tensor method name: function or property}."""
    return {"fix": fix, "msort": msort, "split_with_sizes": split_with_sizes,
            "diag_embed": diag_embed, "index_put": index_put, "put": put, "conj": conj,
            "resolve_conj": conj, "is_complex": is_complex, "adjoint": adjoint,
            "maximum": maximum, "minimum": minimum,
            "broadcast_to": lambda self, *size: broadcast_to(
                self, size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size),
            "mH": property(_matrix_transpose), "real": property(conj)}
