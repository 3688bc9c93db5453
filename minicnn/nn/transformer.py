r"""The Transformer encoder: ``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder``,
as PyTorch's (Vaswani et al., 2017).

One encoder layer is self-attention then a position-wise feed-forward network, each
wrapped in a residual connection and a LayerNorm::

    post-norm (norm_first=False, the paper's):     pre-norm (norm_first=True):
      x = norm1(x + attention(x))                    x = x + attention(norm1(x))
      x = norm2(x + feed_forward(x))                 x = x + feed_forward(norm2(x))

    attention(x)    = dropout1(self_attn(x, x, x, masks)[0])
    feed_forward(x) = dropout2(linear2(dropout(activation(linear1(x)))))

Pre-norm keeps an unnormalised path from input to output, which trains deep stacks more
easily; post-norm is the original. Shapes: src (S, N, E) (``batch_first``: (N, S, E);
unbatched (S, E)) -> the same shape. ``state_dict`` keys are PyTorch's
(``self_attn.in_proj_weight``, ``linear1.weight``, ``norm1.weight``, ...).
"""
from __future__ import annotations

import copy

from .. import functional as F
from ..autograd import Tensor
from ..backend import get_array_module
from ..ops.creation import zeros as _zeros
from . import _checks
from .attention import MultiheadAttention
from .containers import ModuleList
from .layers import Dropout, Linear
from .module import Module
from .normalization import LayerNorm


def _activation(activation):
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"TransformerEncoderLayer: activation: expected 'relu', 'gelu' or "
                           f"a callable, got {activation!r}")
    if not callable(activation):
        raise TypeError(f"TransformerEncoderLayer: activation: expected 'relu', 'gelu' or a "
                        f"callable, got {type(activation).__name__}")
    return activation


def generate_square_subsequent_mask(size: int, device=None, dtype=None) -> Tensor:
    """The causal mask (size, size): 0 on and below the diagonal, -inf above (position i
    may attend to positions j <= i), as ``nn.Transformer.generate_square_subsequent_mask``."""
    zeros = _zeros(size, size, dtype=dtype, device=device)    # the dtype and device rules
    xp = get_array_module(zeros.array)
    # built as an array: triu on a tensor multiplies by a 0/1 mask, and -inf * 0 is NaN
    return Tensor._wrap(xp.triu(xp.full(zeros.shape, -xp.inf, dtype=zeros.dtype), 1))


class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward, each with a residual and a LayerNorm (see the module
    docstring for both orders). ``activation``: 'relu', 'gelu' or a callable."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        layer = "TransformerEncoderLayer"
        dim_feedforward = _checks.size(layer, "dim_feedforward", dim_feedforward, minimum=1)
        dropout = _checks.probability(layer, "dropout", dropout)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer`` (deep copies, as PyTorch:
    the layer passed in is a template, its weights are not shared), then ``norm``.
    ``enable_nested_tensor`` and ``mask_check`` (PyTorch's fast-path switches) are
    accepted and have no effect here."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer: expected a Module, got "
                            f"{type(encoder_layer).__name__}")
        num_layers = _checks.size("TransformerEncoder", "num_layers", num_layers)
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None,
                is_causal: bool | None = None) -> Tensor:
        if is_causal is None:   # PyTorch's detection: is the mask exactly the causal one?
            is_causal = False
            if isinstance(mask, Tensor) and mask.ndim == 2 and mask.shape[0] == mask.shape[1]:
                causal = generate_square_subsequent_mask(mask.shape[0], dtype=mask.dtype)
                if mask.dtype.kind == "b":
                    causal = causal.isinf()
                is_causal = bool((mask.numpy() == causal.numpy()).all())
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output
