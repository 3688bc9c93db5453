r"""``embedding``: rows of a table, ``weight[input]`` (``torch.nn.functional.embedding``).

y[..., :] = W[idx[...], :] is indexing, so its gradient is a scatter-add: dL/dW[i] is the
sum of the output gradients at every position where idx == i (``GetItem``'s backward in
``minicnn/ops/shape.py``), and its second derivative is the gather again. ``padding_idx``:
that row gets no gradient (PyTorch's rule), so training leaves it as it is.

Shapes: input integer indices (*), weight (num_embeddings, embedding_dim) -> (*, embedding_dim).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .math import MaskMul
from .shape import GetItem


def _padding_index(padding_idx, num_embeddings: int):
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"Embedding: padding_idx: expected an index in [{-num_embeddings}, "
                         f"{num_embeddings - 1}], got {padding_idx}")
    return padding_idx % num_embeddings


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """``torch.nn.functional.embedding(input, weight, padding_idx)``: rows of ``weight``."""
    indices = input.array if isinstance(input, Tensor) else np.asarray(input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"embedding(): argument 'weight' must be a Tensor, not "
                        f"{type(weight).__name__}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: input: expected integer indices, got dtype {indices.dtype} "
                        "(PyTorch too; write input.long())")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight: expected (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape}")
    count = weight.shape[0]
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= count):
        raise IndexError(f"embedding: input: indices must be in [0, {count - 1}] for "
                         f"{count} embeddings, got values in [{int(indices.min())}, "
                         f"{int(indices.max())}]")
    xp = get_array_module(weight.array)
    indices = xp.asarray(indices)
    rows = GetItem.apply(weight, index=indices)
    padding_idx = _padding_index(padding_idx, count)
    if padding_idx is None or not weight.requires_grad:
        return rows
    padded = xp.expand_dims(indices == padding_idx, -1)
    keep = (~padded).astype(weight.dtype)
    # the padding row's value, as a constant: no gradient reaches weight[padding_idx]
    constant = xp.where(padded, weight.array[padding_idx], 0).astype(weight.dtype)
    return MaskMul.apply(rows, mask=xp.broadcast_to(keep, rows.shape)) + Tensor._wrap(constant)


__all__ = ["embedding"]
