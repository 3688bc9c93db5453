r"""Multi-layer recurrent networks over whole sequences: ``RNN``, ``LSTM``, ``GRU``, as
``torch.nn``'s.

How a stacked, bidirectional RNN runs (a Python loop over time, one cell step per
iteration; the steps are ``rnn_cell.py``'s functions)::

    x = input                                        # (L, N, H_in)
    for layer in range(num_layers):
        forward  = [h_t for t = 0 .. L-1]            # h_t = step(x_t, h_{t-1})
        backward = [h_t for t = L-1 .. 0]            # (bidirectional) the same, reversed
        x = cat(forward, backward)                   # (L, N, D * H_out)
        x = dropout(x) if training and not the last layer
    output = x;  h_n = the last state of every (layer, direction)

Shapes (D = 2 if bidirectional else 1, H_out = proj_size or hidden_size):

* input (L, N, H_in) (``batch_first``: (N, L, H_in)), unbatched (L, H_in), or a
  ``PackedSequence`` (``nn.utils.rnn``: each sequence stops at its own length);
* h_0 (D * num_layers, N, H_out) (unbatched: (D * num_layers, H_out)), zeros when None;
  LSTM's c_0 (D * num_layers, N, hidden_size);
* output (L, N, D * H_out) (``batch_first``: (N, L, D * H_out)); h_n like h_0.

Parameters, per layer k and direction (suffix ``_reverse`` for the backward one), with
PyTorch's names, shapes and order: ``weight_ih_l{k}`` (G H, H_in of layer k: input_size,
then D * H_out), ``weight_hh_l{k}`` (G H, H_out), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G H,)
and, for an LSTM with ``proj_size``, ``weight_hr_l{k}`` (proj_size, H); G = 1, 4 or 3.
All start as U(-1/sqrt(H), 1/sqrt(H)).
"""
from __future__ import annotations

import warnings

from .. import functional as F
from ..autograd import Tensor
from ..backend import get_array_module
from ..ops.shape import cat, stack
from . import _checks
from .layers import _empty_parameter
from .module import Module
from .rnn_cell import (check_dtype, check_flag, check_nonlinearity, gru_step, lstm_step,
                       reset_uniform, rnn_relu_step, rnn_tanh_step)
from .utils.rnn import PackedSequence, _pack_time_major, pad_packed_sequence

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_STEPS = {"RNN_TANH": rnn_tanh_step, "RNN_RELU": rnn_relu_step, "LSTM": lstm_step,
          "GRU": gru_step}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, the
    checks, and the loop over layers, directions and time. ``mode`` is PyTorch's:
    'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{layer}: mode: expected one of {sorted(_GATES)}, got {mode!r}")
        self.mode = mode
        self.input_size = _checks.size(layer, "input_size", input_size, minimum=1)
        self.hidden_size = _checks.size(layer, "hidden_size", hidden_size, minimum=1)
        self.num_layers = _checks.size(layer, "num_layers", num_layers, minimum=1)
        self.bias = check_flag(layer, "bias", bias)
        self.batch_first = check_flag(layer, "batch_first", batch_first)
        self.bidirectional = check_flag(layer, "bidirectional", bidirectional)
        if isinstance(dropout, bool):
            raise TypeError(f"{layer}: dropout: expected a probability between 0 and 1, got "
                            f"{dropout!r} (bool)")
        self.dropout = float(_checks.probability(layer, "dropout", dropout))
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(f"{layer}: dropout={dropout} has no effect with num_layers=1: "
                          "dropout acts between recurrent layers, after all but the last",
                          stacklevel=2)
        self.proj_size = _checks.size(layer, "proj_size", proj_size)
        if self.proj_size and mode != "LSTM":
            raise ValueError(f"{layer}: proj_size: only LSTM supports projections, got "
                             f"proj_size={proj_size}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"{layer}: proj_size: expected an int smaller than hidden_size "
                             f"({self.hidden_size}), got {self.proj_size}")
        gates = _GATES[mode] * self.hidden_size
        output_size = self.proj_size or self.hidden_size
        directions = 2 if self.bidirectional else 1
        self._flat_weights_names = []
        for k in range(self.num_layers):
            layer_input = self.input_size if k == 0 else output_size * directions
            for direction in range(directions):
                suffix = f"_l{k}" + ("_reverse" if direction == 1 else "")
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, output_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if self.proj_size:
                    shapes["weight_hr"] = (self.proj_size, self.hidden_size)
                for name, shape in shapes.items():
                    setattr(self, name + suffix, _empty_parameter(shape, dtype, device))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_uniform(self, self.hidden_size)

    @property
    def all_weights(self) -> list:
        """The parameters grouped per (layer, direction), as PyTorch's ``all_weights``."""
        per_group = len(self._flat_weights_names) // (self.num_layers * self._directions)
        names = self._flat_weights_names
        return [[getattr(self, name) for name in names[i:i + per_group]]
                for i in range(0, len(names), per_group)]

    def flatten_parameters(self) -> None:
        """Accepted for PyTorch compatibility (cuDNN's weight packing); nothing to do here."""

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _weights(self, k: int, direction: int) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh[, w_hr]) of layer k and one direction (None: no bias)."""
        suffix = f"_l{k}" + ("_reverse" if direction == 1 else "")
        weights = [getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)]
        weights += ([getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix)]
                    if self.bias else [None, None])
        if self.proj_size:
            weights.append(getattr(self, "weight_hr" + suffix))
        return tuple(weights)

    # -- checks ----------------------------------------------------------------------
    def _check_input(self, input) -> None:
        layer = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{layer}: input: expected a Tensor or a PackedSequence, got "
                            f"{type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{layer}: input: expected 2D (L, H_in) unbatched or 3D "
                             f"({'N, L' if self.batch_first else 'L, N'}, H_in), got "
                             f"{input.ndim}D of shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{layer}: input: expected {self.input_size} features in the "
                               f"last dim (input_size), got shape {input.shape}")
        check_dtype(layer, input, self.weight_ih_l0)

    def _initial_state(self, name: str, state, batch: int, size: int, batched: bool,
                       like: Tensor) -> Tensor:
        """The initial state ``name`` as (D * num_layers, N, size), zeros when None."""
        layers = self._directions * self.num_layers
        if state is None:
            return like.new_zeros((layers, batch, size))
        expected = (layers, batch, size) if batched else (layers, size)
        if not isinstance(state, Tensor) or tuple(state.shape) != expected:
            got = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
            raise RuntimeError(f"{type(self).__name__}: {name}: expected shape {expected} "
                               f"(num_layers * num_directions, {'batch, ' if batched else ''}"
                               f"{'proj_size' if size == self.proj_size else 'hidden_size'})"
                               f", got {got}")
        return state if batched else state.unsqueeze(1)

    # -- the loop ----------------------------------------------------------------------
    def _run_direction(self, inputs: list, state, weights: tuple, reverse: bool,
                       valid: list | None):
        """Run one direction of one layer over the steps ``inputs`` (each (N, features)).

        ``valid[t]`` (N, 1) is 1 where sequence n has a step t, else 0 (packed input):
        there the state is kept and the output is 0, so a sequence's final state is the one
        after its own last step, and the backward direction starts at that step.
        """
        step = _STEPS[self.mode]
        outputs = [None] * len(inputs)
        times = range(len(inputs) - 1, -1, -1) if reverse else range(len(inputs))
        for t in times:
            new_state = step(inputs[t], state, *weights)
            if valid is not None:
                keep = valid[t]
                if self.mode == "LSTM":
                    new_state = tuple(keep * new + (1 - keep) * old
                                      for new, old in zip(new_state, state))
                else:
                    new_state = keep * new_state + (1 - keep) * state
            state = new_state
            h = state[0] if self.mode == "LSTM" else state
            outputs[t] = h if valid is None else h * valid[t]
        return stack(outputs, dim=0), state

    def forward(self, input, hx=None):
        packed = isinstance(input, PackedSequence)
        valid = None
        if packed:
            packed_input = input
            input, lengths = pad_packed_sequence(packed_input)       # (L, N, H_in)
            self._check_input(input)
            batched, lengths = True, lengths.numpy()
            xp = get_array_module(input.array)
            valid = [Tensor._wrap(xp.asarray((lengths > t).astype(input.dtype)[:, None]))
                     for t in range(input.shape[0])]
        else:
            self._check_input(input)
            batched = input.ndim == 3
            if not batched:
                input = input.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)                         # (L, N, H_in)
        batch = input.shape[1]
        output_size = self.proj_size or self.hidden_size
        layer = type(self).__name__
        if self.mode == "LSTM":
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{layer}: hx: expected a pair (h_0, c_0) or None, got "
                                f"{type(hx).__name__}")
            h_0, c_0 = (None, None) if hx is None else hx
            h_0 = self._initial_state("h_0", h_0, batch, output_size, batched, input)
            c_0 = self._initial_state("c_0", c_0, batch, self.hidden_size, batched, input)
        else:
            h_0 = self._initial_state("h_0", hx, batch, output_size, batched, input)
        final_h, final_c = [], []
        layer_input = input
        for k in range(self.num_layers):
            steps = list(layer_input.unbind(0))
            direction_outputs = []
            for direction in range(self._directions):
                index = k * self._directions + direction
                state = (h_0[index], c_0[index]) if self.mode == "LSTM" else h_0[index]
                output, state = self._run_direction(steps, state, self._weights(k, direction),
                                                    direction == 1, valid)
                direction_outputs.append(output)
                if self.mode == "LSTM":
                    final_h.append(state[0])
                    final_c.append(state[1])
                else:
                    final_h.append(state)
            layer_input = (cat(direction_outputs, dim=2) if len(direction_outputs) > 1
                           else direction_outputs[0])
            if self.dropout and self.training and k < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output, h_n = layer_input, stack(final_h, dim=0)
        c_n = stack(final_c, dim=0) if self.mode == "LSTM" else None
        if packed:
            output = _pack_time_major(output, packed_input.batch_sizes.numpy(),
                                      packed_input.sorted_indices,
                                      packed_input.unsorted_indices)
        elif not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    r"""Multi-layer Elman RNN: :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} +
    b_{hh})` per layer (ReLU with ``nonlinearity='relu'``). Returns ``(output, h_n)``.

    The argument order is PyTorch's: ``nonlinearity`` comes fourth, before ``bias``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        mode = "RNN_TANH" if check_nonlinearity("RNN", nonlinearity) == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    r"""Multi-layer LSTM (equations in ``rnn_cell.lstm_step``: gates i, f, g, o, cell
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t)). Returns ``(output, (h_n, c_n))``.

    ``proj_size`` = P > 0 adds a projection h_t = W_hr (o tanh(c_t)), W_hr (P, H): h and
    the output then have P features, c keeps H.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    r"""Multi-layer GRU (equations in ``rnn_cell.gru_step``: gates r, z, n,
    h_t = (1 - z) n + z h_{t-1}). Returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
