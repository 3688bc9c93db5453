r"""Batches of sequences of different lengths, as ``torch.nn.utils.rnn``.

Two ways to put B sequences of lengths L_1 >= L_2 >= ... into one batch:

* **padded**: one tensor (T, B, *) (or (B, T, *) with ``batch_first``), T = max L_b,
  the short sequences filled with ``padding_value`` (``pad_sequence``);
* **packed**: the steps of all sequences, time step by time step, with no padding at all:
  ``data`` (L_1 + ... + L_B, *) holds step 0 of every sequence, then step 1 of every
  sequence still running, ... and ``batch_sizes[t]`` says how many sequences are still
  running at step t (``pack_padded_sequence``). An ``RNN``/``LSTM``/``GRU`` given a
  ``PackedSequence`` stops each sequence at its own length: its final state ``h_n`` is the
  state after the sequence's last real step, never after padding.

Example, lengths 3 and 1 (a, b, c and x)::

    padded (T=3, B=2):  [[a, x], [b, 0], [c, 0]]
    packed:             data = [a, x, b, c], batch_sizes = [2, 1, 1]

Packing sorts the sequences by decreasing length (``enforce_sorted=False``) or expects them
sorted; ``sorted_indices``/``unsorted_indices`` record the permutation, and everything that
comes back (``pad_packed_sequence``, an RNN's ``h_n``) is in the caller's original order.
All functions are differentiable (they are indexing, ``cat`` and ``pad``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...autograd import Tensor
from ...ops.shape import cat, pad, stack


class PackedSequence(NamedTuple):
    """``data`` (sum of lengths, *), ``batch_sizes`` (T,) int64 (on the CPU), and the
    permutation from the caller's order to decreasing length (``sorted_indices``, None when
    the input was already sorted) and back (``unsorted_indices``)."""
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _as_int_array(values, name: str, caller: str) -> np.ndarray:
    array = values.numpy() if isinstance(values, Tensor) else np.asarray(values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"{caller}: {name}: expected a 1-D sequence of ints, got "
                         f"{values!r}")
    return array.astype(np.int64)


def _index_tensor(indices: np.ndarray) -> Tensor:
    return Tensor._wrap(np.asarray(indices, dtype=np.int64))


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack B tensors (L_b, *) into one (T, B, *) (``batch_first``: (B, T, *)), T = max
    L_b, filling each to length T with ``padding_value`` after its steps (``padding_side
    ='right'``) or before them (``'left'``). The trailing dims * must agree."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: sequences: expected at least one tensor, got an "
                         "empty list")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side: expected 'right' or 'left', got "
                         f"{padding_side!r}")
    for i, sequence in enumerate(sequences):
        if not isinstance(sequence, Tensor) or sequence.ndim == 0:
            got = tuple(sequence.shape) if isinstance(sequence, Tensor) else type(sequence).__name__
            raise ValueError(f"pad_sequence: sequences[{i}]: expected a tensor (L, *) with at "
                             f"least one dim, got {got}")
        if sequence.shape[1:] != sequences[0].shape[1:]:
            raise ValueError(f"pad_sequence: sequences[{i}]: expected trailing dims "
                             f"{sequences[0].shape[1:]} (those of sequences[0]), got shape "
                             f"{sequence.shape}")
    longest = max(sequence.shape[0] for sequence in sequences)
    padded = []
    for sequence in sequences:
        missing = longest - sequence.shape[0]
        widths = (0, missing) if padding_side == "right" else (missing, 0)
        # F.pad counts from the last dim backwards: pad only the first (time) dim
        padded.append(pad(sequence, (0, 0) * (sequence.ndim - 1) + widths,
                          value=padding_value))
    return stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The inverse of ``pad_sequence``: a list of B tensors (L_b, *)."""
    lengths = _as_int_array(lengths, "lengths", "unpad_sequence")
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :int(length)] for b, length in enumerate(lengths)]


def _pack_time_major(padded: Tensor, batch_sizes: np.ndarray, sorted_indices,
                     unsorted_indices) -> PackedSequence:
    """Pack a (T, B, *) tensor whose batch is in the caller's order, given the packing."""
    if sorted_indices is not None:
        padded = padded.index_select(1, sorted_indices)
    steps = [padded[t, :int(size)] for t, size in enumerate(batch_sizes)]
    return PackedSequence(cat(steps, dim=0), _index_tensor(batch_sizes), sorted_indices,
                          unsorted_indices)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (``batch_first``: (B, T, *)) whose sequence b has
    ``lengths[b]`` real steps. With ``enforce_sorted`` the lengths must decrease; else the
    batch is sorted here and the permutation kept in the result."""
    lengths = _as_int_array(lengths, "lengths", "pack_padded_sequence")
    batch_dim = 0 if batch_first else 1
    if input.ndim < 2 or lengths.shape[0] != input.shape[batch_dim]:
        raise ValueError(f"pack_padded_sequence: lengths: expected one length per sequence "
                         f"({input.shape[batch_dim] if input.ndim >= 2 else '?'} for input "
                         f"of shape {input.shape}), got {len(lengths)}")
    if lengths.size and lengths.min() <= 0:
        raise ValueError(f"pack_padded_sequence: lengths: expected every length > 0, got "
                         f"{lengths.tolist()}")
    if lengths.size and lengths.max() > input.shape[1 - batch_dim]:
        raise ValueError(f"pack_padded_sequence: lengths: expected lengths <= the padded "
                         f"length {input.shape[1 - batch_dim]}, got {lengths.tolist()}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(f"pack_padded_sequence: lengths: expected decreasing lengths "
                               f"with enforce_sorted=True, got {lengths.tolist()}; sort the "
                               "batch or pass enforce_sorted=False")
        sorted_indices = unsorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _index_tensor(order)
        unsorted_indices = _index_tensor(np.argsort(order, kind="stable"))
    if batch_first:
        input = input.transpose(0, 1)
    sorted_lengths = np.sort(lengths)[::-1]
    batch_sizes = np.array([(sorted_lengths > t).sum() for t in range(sorted_lengths[0])],
                           dtype=np.int64)
    return _pack_time_major(input, batch_sizes, sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``, padded (T, B, *)
    (``batch_first``: (B, T, *)) in the caller's original order, T = ``total_length`` if
    given (at least the longest length), lengths (B,) int64."""
    batch_sizes = _as_int_array(sequence.batch_sizes, "batch_sizes", "pad_packed_sequence")
    longest, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None and total_length < longest:
        raise ValueError(f"pad_packed_sequence: total_length: expected at least the longest "
                         f"length {longest}, got {total_length}")
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    data = sequence.data
    trailing = (0, 0) * (data.ndim - 1)
    steps = [pad(data[int(offsets[t]):int(offsets[t + 1])],
                 trailing + (0, batch - int(batch_sizes[t])), value=padding_value)
             for t in range(longest)]
    padded = stack(steps, dim=0)                                   # (T, B, *), sorted order
    if total_length is not None and total_length > longest:
        padded = pad(padded, trailing + (0, 0, 0, total_length - longest), value=padding_value)
    lengths = np.array([(batch_sizes > b).sum() for b in range(batch)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.numpy()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _index_tensor(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of B tensors (L_b, *) (``pad_sequence`` then ``pack_padded_sequence``)."""
    sequences = list(sequences)
    lengths = [sequence.shape[0] for sequence in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The inverse of ``pack_sequence``: a list of B tensors (L_b, *), original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pad_sequence", "unpad_sequence", "pack_padded_sequence",
           "pad_packed_sequence", "pack_sequence", "unpack_sequence"]
