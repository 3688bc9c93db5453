r"""Multi-head attention as a function: ``F.multi_head_attention_forward``, PyTorch's.

Attention lets every query position mix the values of all key positions, weighted by how
well its query matches each key (Vaswani et al., 2017)::

    q = x_q W_q^T + b_q,  k = x_k W_k^T + b_k,  v = x_v W_v^T + b_v     (project)
    split E features into H heads of E / H features each
    A = softmax(q k^T / sqrt(E / H) + mask)                             (L, S) per head
    head = A v;   y = concat(heads) W_o^T + b_o                         (mix, then project)

Each head looks at the sequence through its own E / H-dimensional projection, so one head
can follow word order while another follows meaning. ``nn.MultiheadAttention`` holds the
weights and calls this function; the gradients come from the ops used (``linear``,
``matmul``, ``softmax``), so second derivatives work too.

Masks, as PyTorch's MultiheadAttention reads them (note: the opposite of
``scaled_dot_product_attention``'s bool convention):

* a **bool** mask marks with True the pairs that must NOT attend (they get -inf);
* a **float** mask is added to the scores (0 keeps, -inf removes, anything between biases);
* ``key_padding_mask`` (N, S) removes padded keys of each batch item; ``attn_mask``
  (L, S) or (N H, L, S) removes (query, key) pairs; both together are added.
* ``is_causal`` is a *hint* that ``attn_mask`` is the causal mask (required with it); where
  PyTorch then ignores the mask's values and applies the causal mask itself (no weights
  asked, no padding mask), so does this function.

Shapes: query (L, N, E), key (S, N, E_k), value (S, N, E_v) (unbatched: no N) ->
output (L, N, E), weights (N, L, S) averaged over heads or (N, H, L, S) (None when
``need_weights=False``).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from .activation import softmax
from .dropout import dropout
from .functional_more import scaled_dot_product_attention
from .math import matmul
from .shape import cat, pad, transpose


def _additive_mask(mask, name: str, like: Tensor):
    """A bool mask (True = masked) as a float one (-inf where True), a float one as is."""
    if mask is None:
        return None
    array = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    xp = get_array_module(array)
    if array.dtype == np.bool_:
        return Tensor._wrap(xp.where(array, -xp.inf, 0.0).astype(like.dtype))
    if array.dtype.kind != "f":
        raise TypeError(f"multi_head_attention_forward: {name}: expected a bool or a float "
                        f"mask, got dtype {array.dtype}")
    return mask if isinstance(mask, Tensor) else Tensor._wrap(xp.asarray(array, like.dtype))


def _mask_dtype(mask):
    if mask is None:
        return None
    return mask.dtype if isinstance(mask, Tensor) else np.asarray(mask).dtype


def _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """PyTorch's shape rules; returns whether the input is batched."""
    op = "multi_head_attention_forward"
    if query.ndim not in (2, 3):
        raise ValueError(f"{op}: query: expected 2D (L, E) unbatched or 3D (L, N, E), got "
                         f"{query.ndim}D of shape {query.shape}")
    batched = query.ndim == 3
    for name, tensor in (("key", key), ("value", value)):
        if tensor.ndim != query.ndim:
            raise ValueError(f"{op}: {name}: expected {query.ndim}D like the query (shape "
                             f"{query.shape}), got shape {tensor.shape}")
    if key_padding_mask is not None and np.ndim(key_padding_mask) != query.ndim - 1:
        raise ValueError(f"{op}: key_padding_mask: expected {query.ndim - 1}D "
                         f"({'(N, S)' if batched else '(S,)'}), got shape "
                         f"{tuple(key_padding_mask.shape)}")
    if attn_mask is not None and np.ndim(attn_mask) not in (2, 3):
        raise ValueError(f"{op}: attn_mask: expected 2D (L, S) or 3D (N * num_heads, L, S), "
                         f"got shape {tuple(attn_mask.shape)}")
    if batched and key.shape[1] != query.shape[1]:
        raise ValueError(f"{op}: key: expected batch size {query.shape[1]} (the query's, dim "
                         f"1), got shape {key.shape}")
    return batched


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: Tensor, out_proj_bias,
                                 training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 use_separate_proj_weight: bool = False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True,
                                 is_causal: bool = False):
    """Multi-head attention with the given weights (the math is in the module docstring);
    the arguments are PyTorch's. Returns ``(output, weights or None)``."""
    from ..functional import linear   # functional imports this module

    op = "multi_head_attention_forward"
    batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = (key_padding_mask.unsqueeze(0) if isinstance(
                key_padding_mask, Tensor) else np.asarray(key_padding_mask)[None])
    length, batch, embed_dim = query.shape
    source = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"{op}: query: expected {embed_dim_to_check} features (embed_dim), "
                         f"got shape {query.shape}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"{op}: embed_dim ({embed_dim}) must be divisible by num_heads "
                         f"({num_heads})")
    if key.shape[:2] != value.shape[:2]:
        raise ValueError(f"{op}: value: expected the key's sequence and batch dims "
                         f"{key.shape[:2]}, got shape {value.shape}")
    mask_types = (_mask_dtype(key_padding_mask), _mask_dtype(attn_mask))
    if None not in mask_types and mask_types[0] != mask_types[1]:
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. "
                      "Use same type for both instead.", stacklevel=2)
    key_padding_mask = _additive_mask(key_padding_mask, "key_padding_mask", query)
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{op}: attn_mask: is_causal=True is a hint that attn_mask is the "
                           "causal mask, so attn_mask is required with it (PyTorch's "
                           "rule; nn.Transformer.generate_square_subsequent_mask makes one)")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None          # the causal mask itself, applied by the attention below
    else:
        attn_mask = _additive_mask(attn_mask, "attn_mask", query)
        if key_padding_mask is not None:
            is_causal = False     # the merged mask is no longer causal

    # 1. project: q (L, N, E), k and v (S, N, E)
    if use_separate_proj_weight:
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
    b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)

    if attn_mask is not None:
        expected = ((length, source) if attn_mask.ndim == 2
                    else (batch * num_heads, length, source))
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(f"{op}: attn_mask: expected shape {expected} for a "
                               f"{attn_mask.ndim}D mask, got {tuple(attn_mask.shape)}")
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)
    # 2. optional learned key/value appended at the end of the sequence
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.expand(1, batch, embed_dim)])
        v = cat([v, bias_v.expand(1, batch, embed_dim)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif (bias_k is None) != (bias_v is None):
        raise ValueError(f"{op}: bias_k and bias_v: expected both or neither")

    # 3. split the heads: (L, N, E) -> (N H, L, E / H)
    q = transpose(q.reshape(length, batch * num_heads, head_dim), 0, 1)
    k = (transpose(k.reshape(k.shape[0], batch * num_heads, head_dim), 0, 1)
         if static_k is None else static_k)
    v = (transpose(v.reshape(v.shape[0], batch * num_heads, head_dim), 0, 1)
         if static_v is None else static_v)
    if add_zero_attn:    # one all-zero key and value more: a query may attend to "nothing"
        k = cat([k, k.new_zeros((batch * num_heads, 1, head_dim))], dim=1)
        v = cat([v, v.new_zeros((batch * num_heads, 1, head_dim))], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    source = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (batch, source):
            raise ValueError(f"{op}: key_padding_mask: expected shape {(batch, source)} "
                             f"(N, S), got {tuple(key_padding_mask.shape)}")
        key_padding_mask = key_padding_mask.reshape(batch, 1, 1, source).expand(
            batch, num_heads, 1, source).reshape(batch * num_heads, 1, source)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    # 4. attend: A = softmax(q k^T / sqrt(E / H) + mask), heads = A v   (N H, L, E / H)
    if need_weights:
        scores = matmul(q * math.sqrt(1.0 / head_dim), transpose(k, -2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p)
        heads = matmul(weights, v)
    else:
        weights = None
        heads = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)

    # 5. concatenate the heads and project: (N H, L, E / H) -> (L, N, E)
    heads = transpose(heads, 0, 1).reshape(length * batch, embed_dim)
    output = linear(heads, out_proj_weight, out_proj_bias).reshape(length, batch, embed_dim)
    if weights is not None:
        weights = weights.reshape(batch, num_heads, length, source)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            weights = weights.squeeze(0)
    if not batched:
        output = output.squeeze(1)
    return output, weights


__all__ = ["multi_head_attention_forward"]
