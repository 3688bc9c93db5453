r"""``Embedding``: a lookup table, row i of ``weight`` for index i.

y[..., :] = W[idx[...], :] is indexing, so its gradient is a scatter-add: dL/dW[i] is the
sum of the output gradients at every position where idx == i (``GetItem``'s backward in
``minicnn/ops/shape.py``). ``padding_idx``: that row starts at zero and gets no gradient,
so it stays as it is (PyTorch's rule).

Shapes: input integer indices (*), weight (num_embeddings, embedding_dim) -> (*, embedding_dim).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from ..ops.math import MaskMul
from ..ops.shape import GetItem
from . import init
from .module import Module, Parameter


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
    return MaskMul.apply(rows, mask=xp.broadcast_to(keep, rows.shape)) + Tensor(constant)


class Embedding(Module):
    """``Embedding(num_embeddings, embedding_dim, padding_idx=None)``; weight ~ N(0, 1)
    (the padding row zero), as ``torch.nn.Embedding``. ``max_norm`` (renormalising rows in
    place during the forward pass) and sparse gradients are not supported."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None,
                 dtype=None):
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise ValueError("Embedding: max_norm, scale_grad_by_freq and sparse are not "
                             "supported by minicnn (PyTorch has them); leave them at their "
                             "defaults")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        if _weight is None:
            data = np.zeros((num_embeddings, embedding_dim), dtype=dtype or np.float32)
            self.weight = Parameter(Tensor(data).to(device) if device else Tensor(data),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight: expected shape ({num_embeddings}, "
                                 f"{embedding_dim}), got {tuple(_weight.shape)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx=None,
                        **kwargs) -> "Embedding":
        """An Embedding holding ``embeddings`` (rows, dim); frozen unless ``freeze=False``."""
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze,
                   **kwargs)

    def forward(self, input) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
