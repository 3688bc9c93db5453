r"""``Embedding``: a lookup table, row i of ``weight`` for index i (the math is
``embedding`` in ``minicnn/ops/embedding.py``). ``padding_idx``: that row starts at zero
and gets no gradient, so it stays as it is (PyTorch's rule).

Shapes: input integer indices (*), weight (num_embeddings, embedding_dim) -> (*, embedding_dim).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from ..ops.embedding import _padding_index, embedding
from ..ops.creation import allocate
from . import init
from .module import Module, Parameter


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
            data = allocate(np.zeros, (num_embeddings, embedding_dim), dtype, "Embedding")
            self.weight = Parameter(Tensor._wrap(data).to(device) if device else Tensor._wrap(data),
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
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings: expected a 2-D tensor "
                             f"(num_embeddings, embedding_dim), got "
                             f"{getattr(embeddings, 'shape', type(embeddings).__name__)}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze,
                   **kwargs)

    def forward(self, input) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
