r"""The Transformer, as PyTorch's (Vaswani et al., 2017): ``nn.TransformerEncoderLayer``,
``nn.TransformerEncoder``, ``nn.TransformerDecoderLayer``, ``nn.TransformerDecoder`` and
``nn.Transformer`` (an encoder and a decoder, each closed by a LayerNorm).

One encoder layer is self-attention then a position-wise feed-forward network, each
wrapped in a residual connection and a LayerNorm::

    post-norm (norm_first=False, the paper's):     pre-norm (norm_first=True):
      x = norm1(x + attention(x))                    x = x + attention(norm1(x))
      x = norm2(x + feed_forward(x))                 x = x + feed_forward(norm2(x))

    attention(x)    = dropout1(self_attn(x, x, x, masks)[0])
    feed_forward(x) = dropout2(linear2(dropout(activation(linear1(x)))))

A decoder layer has a third block between the two, cross-attention from the target to the
encoder's output (the ``memory``), with its own LayerNorm::

    post-norm:                                     pre-norm:
      x = norm1(x + attention(x))                    x = x + attention(norm1(x))
      x = norm2(x + cross(x, memory))                x = x + cross(norm2(x), memory)
      x = norm3(x + feed_forward(x))                 x = x + feed_forward(norm3(x))

    cross(x, m) = dropout2(multihead_attn(x, m, m, memory masks)[0])

(the decoder's feed-forward ends in dropout3). The target's self-attention usually takes
the causal mask (``generate_square_subsequent_mask``), so position t sees only targets
<= t. Pre-norm keeps an unnormalised path from input to output, which trains deep stacks
more easily; post-norm is the original. Shapes: src (S, N, E), tgt (T, N, E)
(``batch_first``: N first; unbatched: no N) -> the shape of src (encoder) or of tgt
(decoder). ``state_dict`` keys are PyTorch's (``self_attn.in_proj_weight``,
``multihead_attn.out_proj.weight``, ``linear1.weight``, ``norm3.bias``, ...).
"""
from __future__ import annotations

import copy

from .. import functional as F
from ..autograd import Tensor
from ..backend import get_array_module
from ..ops.creation import zeros as _zeros
from . import _checks, init
from .attention import MultiheadAttention
from .containers import ModuleList
from .layers import Dropout, Linear
from .module import Module
from .normalization import LayerNorm


def _activation(activation, layer: str = "TransformerEncoderLayer"):
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"{layer}: activation: expected 'relu', 'gelu' or a callable, "
                           f"got {activation!r}")
    if not callable(activation):
        raise TypeError(f"{layer}: activation: expected 'relu', 'gelu' or a callable, got "
                        f"{type(activation).__name__}")
    return activation


def _check_sizes(layer: str, d_model, nhead, dim_feedforward, dropout):
    """The constructor's numbers, each error naming the layer's own argument (d_model, not
    MultiheadAttention's embed_dim)."""
    d_model = _checks.size(layer, "d_model", d_model, minimum=1)
    nhead = _checks.size(layer, "nhead", nhead, minimum=1)
    _checks.divisible(layer, "d_model", d_model, "nhead", nhead)
    dim_feedforward = _checks.size(layer, "dim_feedforward", dim_feedforward, minimum=1)
    return d_model, nhead, dim_feedforward, _checks.probability(layer, "dropout", dropout)


def _seq_len(x: Tensor, batch_first: bool) -> int:
    """The sequence length of (S, E), (S, N, E) or, with ``batch_first``, (N, S, E)."""
    return x.shape[1] if batch_first and x.ndim == 3 else x.shape[0]


def _batch_first(layers) -> bool:
    """The layout of a stack: its first layer's attention's (False for an empty stack or
    custom layers without ``self_attn``)."""
    first = layers[0] if len(layers) else None
    return bool(getattr(getattr(first, "self_attn", None), "batch_first", False))


def _detect_is_causal_mask(mask, is_causal, size: int) -> bool:
    """PyTorch's rule: an explicit ``is_causal`` wins; with None, is ``mask`` exactly the
    causal mask of ``size`` (a float -inf/0 one, or a bool one with True above the
    diagonal)? Only a hint for the attention: the mask itself is applied either way."""
    if is_causal is not None:
        return bool(is_causal)
    if not isinstance(mask, Tensor) or mask.shape != (size, size):
        return False
    causal = generate_square_subsequent_mask(size, dtype=mask.dtype)   # bool: -inf is True
    return bool((mask.numpy() == causal.numpy()).all())


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
        d_model, nhead, dim_feedforward, dropout = _check_sizes(
            "TransformerEncoderLayer", d_model, nhead, dim_feedforward, dropout)
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
        is_causal = _detect_is_causal_mask(mask, is_causal,
                                           _seq_len(src, _batch_first(self.layers)))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoderLayer(Module):
    """Self-attention over the target, cross-attention to the memory, feed-forward; each
    with a residual and a LayerNorm (norm1..3; see the module docstring for both orders).
    ``activation``: 'relu', 'gelu' or a callable."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        layer = "TransformerDecoderLayer"
        d_model, nhead, dim_feedforward, dropout = _check_sizes(
            layer, d_model, nhead, dim_feedforward, dropout)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, layer)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        _check_target_and_memory("TransformerDecoderLayer", tgt, memory,
                                 self.self_attn.embed_dim, self.self_attn.batch_first)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask,
                                              tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask,
                                               memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha_block(self, x: Tensor, memory: Tensor, attn_mask, key_padding_mask,
                   is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


def _check_target_and_memory(layer: str, tgt, memory, d_model: int, batch_first: bool):
    """tgt and memory: Tensors, both batched or both not, with one batch size and d_model
    features; each error names the argument (the attention would call them query/key)."""
    for name, tensor in (("tgt", tgt), ("memory", memory)):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{layer}: {name}: expected a Tensor, got {type(tensor).__name__}")
        if tensor.ndim not in (2, 3) or tensor.shape[-1] != d_model:
            raise ValueError(f"{layer}: {name}: expected (sequence, [batch,] {d_model}) "
                             f"(d_model features), got shape {tensor.shape}")
    if memory.ndim != tgt.ndim:
        raise ValueError(f"{layer}: memory: expected {tgt.ndim}D like tgt (shape "
                         f"{tgt.shape}), got shape {memory.shape}")
    dim = 0 if batch_first else 1
    if tgt.ndim == 3 and memory.shape[dim] != tgt.shape[dim]:
        raise ValueError(f"{layer}: memory: expected batch size {tgt.shape[dim]} (tgt's, dim "
                         f"{dim}), got shape {memory.shape}")


class TransformerDecoder(Module):
    """``num_layers`` independent copies of ``decoder_layer`` (deep copies, as PyTorch),
    each attending to the same ``memory``, then ``norm``. ``tgt_is_causal=None`` (the
    default) detects whether ``tgt_mask`` is the causal mask."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        if not isinstance(decoder_layer, Module):
            raise TypeError(f"TransformerDecoder: decoder_layer: expected a Module, got "
                            f"{type(decoder_layer).__name__}")
        num_layers = _checks.size("TransformerDecoder", "num_layers", num_layers)
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        if not isinstance(tgt, Tensor):
            raise TypeError(f"TransformerDecoder: tgt: expected a Tensor, got "
                            f"{type(tgt).__name__}")
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal,
                                               _seq_len(tgt, _batch_first(self.layers)))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer: ``memory = encoder(src)``, then
    ``decoder(tgt, memory)``; each stack ends in a LayerNorm (also with ``norm_first``).
    Every parameter of more than one dimension is re-drawn Xavier-uniform, as PyTorch
    does (LayerNorms and biases keep their 1 and 0). ``custom_encoder`` and
    ``custom_decoder`` replace a stack (they are called as the stacks are)."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        name = "Transformer"
        d_model, nhead, dim_feedforward, dropout = _check_sizes(
            name, d_model, nhead, dim_feedforward, dropout)
        for argument, custom in (("custom_encoder", custom_encoder),
                                 ("custom_decoder", custom_decoder)):
            if custom is not None and not isinstance(custom, Module):
                raise TypeError(f"{name}: {argument}: expected a Module or None, got "
                                f"{type(custom).__name__}")
        options = dict(dim_feedforward=dim_feedforward, dropout=dropout,
                       activation=_activation(activation, name), layer_norm_eps=layer_norm_eps,
                       batch_first=batch_first, norm_first=norm_first, bias=bias,
                       device=device, dtype=dtype)
        factory = {"eps": layer_norm_eps, "bias": bias, "device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(d_model, nhead, **options),
                _checks.size(name, "num_encoder_layers", num_encoder_layers),
                LayerNorm(d_model, **factory))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(d_model, nhead, **options),
                _checks.size(name, "num_decoder_layers", num_decoder_layers),
                LayerNorm(d_model, **factory))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None,
                memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        for argument, tensor in (("src", src), ("tgt", tgt)):
            if not isinstance(tensor, Tensor):
                raise TypeError(f"Transformer: {argument}: expected a Tensor, got "
                                f"{type(tensor).__name__}")
        dim = 0 if self.batch_first else 1
        if src.ndim == 3 and (tgt.ndim != 3 or src.shape[dim] != tgt.shape[dim]):
            raise RuntimeError(f"Transformer: tgt: the batch number of src and tgt must be "
                               f"equal (dim {dim}), got src {src.shape} and tgt {tgt.shape}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: src, tgt: the feature number of src and tgt "
                               f"must be equal to d_model ({self.d_model}), got src "
                               f"{src.shape} and tgt {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The causal mask (sz, sz): 0 on and below the diagonal, -inf above."""
        return generate_square_subsequent_mask(sz, device=device, dtype=dtype)
