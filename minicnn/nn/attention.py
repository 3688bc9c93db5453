r"""``nn.MultiheadAttention``: the weights of multi-head attention, PyTorch's layout.

The math (project, split into heads, softmax(q k^T / sqrt(E / H) + mask) v, concatenate,
project) and the mask rules are in ``minicnn/ops/attention.py``
(``F.multi_head_attention_forward``), which this module calls.

Parameters, with PyTorch's names (so ``state_dict``\ s load both ways):

* ``in_proj_weight`` (3E, E): W_q, W_k, W_v stacked, when kdim == vdim == embed_dim;
  else ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
* ``in_proj_bias`` (3E,) (with ``bias``), ``out_proj`` a Linear(E, E);
* ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``: one learned key and value
  appended to every sequence.

Initialisation as PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal
bias_k and bias_v, ``out_proj.weight`` as any Linear.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from . import _checks, init
from .layers import Linear, _empty_parameter
from .module import Module


class MultiheadAttention(Module):
    r"""Multi-head attention, :math:`\mathrm{softmax}(q k^T / \sqrt{E/H} + mask)\, v` per
    head (Vaswani et al., 2017).

    Shapes: query (L, N, E), key (S, N, kdim), value (S, N, vdim) (``batch_first``:
    N first; unbatched: no N) -> ``(attn_output, attn_weights)``: attn_output like the
    query, attn_weights (N, L, S) (``average_attn_weights=False``: (N, H, L, S)), or None
    with ``need_weights=False``. Masks: see ``minicnn/ops/attention.py`` (bool True =
    masked out, float added).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        layer = "MultiheadAttention"
        self.embed_dim = _checks.size(layer, "embed_dim", embed_dim, minimum=1)
        self.num_heads = _checks.size(layer, "num_heads", num_heads, minimum=1)
        _checks.divisible(layer, "embed_dim", self.embed_dim, "num_heads", self.num_heads)
        self.kdim = self.embed_dim if kdim is None else _checks.size(layer, "kdim", kdim, 1)
        self.vdim = self.embed_dim if vdim is None else _checks.size(layer, "vdim", vdim, 1)
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.dropout = _checks.probability(layer, "dropout", dropout)
        self.batch_first, self.add_zero_attn = batch_first, add_zero_attn
        self.head_dim = self.embed_dim // self.num_heads
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty_parameter((3 * E, E), dtype, device)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = _empty_parameter((E, E), dtype, device)
            self.k_proj_weight = _empty_parameter((E, self.kdim), dtype, device)
            self.v_proj_weight = _empty_parameter((E, self.vdim), dtype, device)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _empty_parameter((3 * E,), dtype, device)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _empty_parameter((1, 1, E), dtype, device)
            self.bias_v = _empty_parameter((1, 1, E), dtype, device)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        for name, tensor in (("query", query), ("key", key), ("value", value)):
            if not isinstance(tensor, Tensor):
                raise TypeError(f"MultiheadAttention: {name}: expected a Tensor, got "
                                f"{type(tensor).__name__}")
        batched = query.ndim == 3
        if self.batch_first and batched:    # the function works sequence-first: (L, N, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        output, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            output = output.transpose(0, 1)
        return output, weights
