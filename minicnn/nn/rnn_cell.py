r"""Recurrent cells: one time step of an Elman RNN, an LSTM and a GRU, as ``torch.nn``'s
``RNNCell``, ``LSTMCell`` and ``GRUCell``.

A cell maps the input of one step x (N, H_in) and the previous hidden state h (N, H) to the
next state. The step functions below (``rnn_tanh_step``, ``lstm_step``, ``gru_step``) are
the equations, written with minicnn's differentiable ops (``F.linear``, ``sigmoid``,
``tanh``), so the autograd engine gives first and second derivatives; the multi-layer
``RNN``/``LSTM``/``GRU`` of ``rnn.py`` call the same functions at every time step.

Weights are stacked by gate, as PyTorch stores them: ``weight_ih`` (G H, H_in),
``weight_hh`` (G H, H), ``bias_ih`` and ``bias_hh`` (G H,), with G = 1 (RNN), 4 (LSTM:
gates i, f, g, o) or 3 (GRU: gates r, z, n). Every parameter starts as
U(-1/sqrt(H), 1/sqrt(H)), as PyTorch's. Two biases where one would do (b_ih + b_hh) is
cuDNN's layout, kept so that ``state_dict``\ s load both ways.

Shapes: N batch, H_in input features, H hidden features; an unbatched input is (H_in,)
with a hidden state (H,).
"""
from __future__ import annotations

import math

from .. import functional as F
from ..autograd import Tensor
from . import _checks, init
from .layers import _empty_parameter
from .module import Module


# ---------------------------------------------------------------------------------------
# One time step, as functions (shared with the multi-layer modules of rnn.py)
# ---------------------------------------------------------------------------------------
def rnn_tanh_step(input: Tensor, hidden: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    r"""Elman RNN step: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`."""
    return F.tanh(F.linear(input, w_ih, b_ih) + F.linear(hidden, w_hh, b_hh))


def rnn_relu_step(input: Tensor, hidden: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    r"""Elman RNN step with ReLU: :math:`h' = \max(0, W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`."""
    return F.relu(F.linear(input, w_ih, b_ih) + F.linear(hidden, w_hh, b_hh))


def lstm_step(input: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Tensor | None = None, b_hh: Tensor | None = None,
              w_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
    r"""LSTM step (Hochreiter & Schmidhuber, 1997; PyTorch's gate order i, f, g, o)::

        i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate: how much to write
        f  = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate: how much to keep
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)        the candidate to write
        o  = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate: how much to show
        c' = f * c + i * g                              the cell: a running, gated sum
        h' = o * tanh(c')                               (with a projection: h' = W_hr h')

    The cell c is a sum, not a product of matrices, so its gradient through many steps is
    scaled by the forget gates only: that is why an LSTM remembers longer than an RNN.
    ``w_hr`` (P, H) projects h to P < H features (``LSTM(proj_size=P)``).
    """
    h, c = state
    gates = F.linear(input, w_ih, b_ih) + F.linear(h, w_hh, b_hh)   # (N, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = F.sigmoid(i), F.sigmoid(f), F.tanh(g), F.sigmoid(o)
    c_next = f * c + i * g
    h_next = o * F.tanh(c_next)
    if w_hr is not None:
        h_next = F.linear(h_next, w_hr)
    return h_next, c_next


def gru_step(input: Tensor, hidden: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    r"""GRU step (Cho et al., 2014; PyTorch's gate order r, z, n)::

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)         reset gate
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)         update gate
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))      the candidate state
        h' = (1 - z) * n + z * h

    Note where r sits: it multiplies ``W_hn h + b_hn`` (bias included), as in PyTorch and
    cuDNN, not ``h`` before the product as in the original paper.
    """
    x_r, x_z, x_n = F.linear(input, w_ih, b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(hidden, w_hh, b_hh).chunk(3, dim=-1)
    r = F.sigmoid(x_r + h_r)
    z = F.sigmoid(x_z + h_z)
    n = F.tanh(x_n + r * h_n)
    return (1 - z) * n + z * hidden


# ---------------------------------------------------------------------------------------
# Checks shared by the cells and the multi-layer modules
# ---------------------------------------------------------------------------------------
def check_flag(layer: str, name: str, value) -> bool:
    """A bool argument (``bias``, ``batch_first``, ``bidirectional``), as PyTorch checks."""
    if not isinstance(value, bool):
        raise TypeError(f"{layer}: {name}: expected a bool, got {value!r} "
                        f"({type(value).__name__})")
    return value


def check_nonlinearity(layer: str, nonlinearity) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{layer}: nonlinearity: expected 'tanh' or 'relu', got "
                         f"{nonlinearity!r}")
    return nonlinearity


def check_dtype(layer: str, input: Tensor, weight: Tensor) -> None:
    if input.dtype != weight.dtype:
        raise ValueError(f"{layer}: input has dtype {input.dtype} but the weights have dtype "
                         f"{weight.dtype}; convert the input (x.to({str(weight.dtype)!r})) or "
                         f"the layer (.to({str(input.dtype)!r}))")


def reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's init for every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


# ---------------------------------------------------------------------------------------
# The cells
# ---------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """What the three cells share: the parameters (G gates stacked), init, checks, repr."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        self.input_size = _checks.size(layer, "input_size", input_size)
        self.hidden_size = _checks.size(layer, "hidden_size", hidden_size)
        self.bias = check_flag(layer, "bias", bias)
        gates = num_chunks * self.hidden_size
        self.weight_ih = _empty_parameter((gates, self.input_size), dtype, device)
        self.weight_hh = _empty_parameter((gates, self.hidden_size), dtype, device)
        if bias:
            self.bias_ih = _empty_parameter((gates,), dtype, device)
            self.bias_hh = _empty_parameter((gates,), dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_uniform(self, self.hidden_size)

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _check_input(self, input) -> bool:
        """Check the input; return whether it is batched (N, H_in) rather than (H_in,)."""
        layer = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{layer}: input: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{layer}: input: expected 1D (H_in,) or 2D (N, H_in), got "
                             f"{input.ndim}D of shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{layer}: input: expected {self.input_size} features in the "
                               f"last dim (input_size), got shape {input.shape}")
        check_dtype(layer, input, self.weight_ih)
        return input.ndim == 2

    def _hidden(self, name: str, hx, input: Tensor, batched: bool) -> Tensor:
        """The state ``name`` as (N, H): zeros when None, else checked (and unsqueezed)."""
        batch = input.shape[0] if batched else 1
        if hx is None:
            return input.new_zeros((batch, self.hidden_size))
        expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
        if not isinstance(hx, Tensor) or tuple(hx.shape) != expected:
            got = tuple(hx.shape) if isinstance(hx, Tensor) else type(hx).__name__
            raise RuntimeError(f"{type(self).__name__}: {name}: expected shape {expected} "
                               f"(the input is {'batched' if batched else 'unbatched'}), "
                               f"got {got}")
        return hx if batched else hx.unsqueeze(0)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    r"""Elman RNN cell: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`
    (or ReLU with ``nonlinearity='relu'``).

    Shapes: input (N, H_in) or (H_in,), hx (N, H) or (H,) (zeros when None) -> h' like hx;
    weight_ih (H, H_in), weight_hh (H, H), bias_ih and bias_hh (H,).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = check_nonlinearity("RNNCell", nonlinearity)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(0)
        h = self._hidden("hx", hx, input, batched)
        step = rnn_tanh_step if self.nonlinearity == "tanh" else rnn_relu_step
        h_next = step(x, h, *self._weights())
        return h_next if batched else h_next.squeeze(0)


class LSTMCell(RNNCellBase):
    r"""LSTM cell: one step of ``lstm_step`` (the equations are there).

    Shapes: input (N, H_in) or (H_in,), hx = (h, c), each (N, H) or (H,) (zeros when
    None) -> (h', c') of the same shapes; weight_ih (4H, H_in), weight_hh (4H, H), biases
    (4H,), the gates stacked in the order i, f, g, o.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTMCell: hx: expected a pair (h, c) or None, got "
                            f"{type(hx).__name__}")
        h = self._hidden("hx[0]", hx[0], input, batched)
        c = self._hidden("hx[1]", hx[1], input, batched)
        h_next, c_next = lstm_step(x, (h, c), *self._weights())
        if not batched:
            return h_next.squeeze(0), c_next.squeeze(0)
        return h_next, c_next


class GRUCell(RNNCellBase):
    r"""GRU cell: one step of ``gru_step`` (the equations are there).

    Shapes: input (N, H_in) or (H_in,), hx (N, H) or (H,) (zeros when None) -> h' like hx;
    weight_ih (3H, H_in), weight_hh (3H, H), biases (3H,), the gates stacked as r, z, n.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(0)
        h = self._hidden("hx", hx, input, batched)
        h_next = gru_step(x, h, *self._weights())
        return h_next if batched else h_next.squeeze(0)
