"""Grouped-query attention for ``scaled_dot_product_attention(enable_gqa=True)``: the key
and value have H_kv heads (dim -3), the query H_q = G * H_kv; key/value head h serves query
heads h*G ... h*G + G - 1 (PyTorch's ``repeat_interleave`` along the heads). The repeat is
a differentiable index op, so each key/value head collects the gradient of its G copies."""
from __future__ import annotations

from ..autograd import Tensor
from .index_ops import repeat_interleave
from .torch_errors import RuntimeValueError


def grouped_heads(query: Tensor, key: Tensor, value: Tensor):
    """(key, value) with each of their heads repeated for its group of query heads."""
    heads, kv_heads = query.shape[-3], key.shape[-3]
    if kv_heads == 0 or heads % kv_heads or value.shape[-3] != kv_heads:
        raise RuntimeValueError(f"scaled_dot_product_attention: enable_gqa: the query's heads "
                                f"({heads}) must be a multiple of the key's and value's "
                                f"(dim -3: {kv_heads} and {value.shape[-3]})")
    groups = heads // kv_heads
    return (repeat_interleave(key, groups, dim=key.ndim - 3),
            repeat_interleave(value, groups, dim=value.ndim - 3))
