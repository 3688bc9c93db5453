r"""``F.pad`` modes that copy the input's own values into the border: reflect, replicate,
circular (``constant`` lives in ops/shape.py). A negative width crops that side instead:
the same gather, its positions starting (or ending) inside the input (circular, as
PyTorch, crops first and wraps around what is left).

Each padded dim of size n with widths (l, r) becomes a gather along that dim: output
position p in [-l, n + r) reads input index

    reflect    i = |p|, mirrored again past the end: 2 (n - 1) - i   (the edge is not repeated)
    replicate  i = clip(p, 0, n - 1)                                 (the edge is repeated)
    circular   i = p mod n                                           (wraps around)

e.g. [a b c] with (2, 2): reflect c b | a b c | b a, replicate a a | a b c | c c,
circular b c | a b c | a b. Since the pad is a gather (``Take`` of index_ops.py), its
gradient scatters-adds g back (a border value's gradient lands on the pixel it copies),
and that is a gather again: differentiable to any order.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from .index_ops import Take
from .torch_errors import NotImplementedValueError, RuntimeValueError

MODES = ("reflect", "replicate", "circular")


def _source_index(mode: str, n: int, before: int, after: int, xp):
    if mode == "circular":  # PyTorch crops first, then wraps around what is left
        start, stop = max(-before, 0), n - max(-after, 0)
        return start + xp.arange(-max(before, 0), stop - start + max(after, 0)) % (stop - start)
    p = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(p, 0, n - 1)
    if n == 1:
        return xp.zeros_like(p)
    q = xp.abs(p) % (2 * (n - 1))
    return xp.where(q < n, q, 2 * (n - 1) - q)


def _check(input, pad, mode):
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: input: expected a Tensor, got {type(input).__name__}")
    if mode not in MODES:
        raise NotImplementedValueError(f"pad: mode: expected 'constant', 'reflect', "
                                       f"'replicate' or 'circular', got {mode!r}")
    pad = tuple(int(w) for w in pad)
    count = len(pad) // 2
    if len(pad) % 2 or count not in (1, 2, 3):
        raise ValueError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims: expected 2, 4 or 6 "
                         f"widths, got {pad}")
    if input.ndim not in (count + 1, count + 2):
        raise ValueError(f"pad: mode {mode!r} with {len(pad)} widths expects a "
                         f"{count + 1}-d or {count + 2}-d input (batched or not), got shape "
                         f"{input.shape}")
    for i in range(count):
        dim = input.ndim - 1 - i
        size, (before, after) = input.shape[dim], pad[2 * i: 2 * i + 2]
        if size + before + after < 0:
            raise RuntimeValueError(f"pad: mode {mode!r}: dim {dim} of size {size} with widths "
                                    f"({before}, {after}) would have a negative size")
        if mode == "reflect" and max(before, after) >= size:
            raise RuntimeValueError(f"pad: reflect: each width must be smaller than the padded "
                                    f"dim's size; dim {dim} has size {size}, widths ({before}, "
                                    f"{after})")
        if mode == "circular" and max(before, after) > size + min(before, 0) + min(after, 0):
            raise RuntimeValueError(f"pad: circular: each width must be at most the padded "
                                    f"dim's size (after any crop); dim {dim} has size {size}, "
                                    f"widths ({before}, {after})")
        if mode == "replicate" and size == 0 and (before or after):
            raise ValueError(f"pad: replicate: cannot pad dim {dim} of size 0")
    return pad


def pad(input: Tensor, pad, mode: str) -> Tensor:
    """``F.pad(input, pad, mode)`` for mode in reflect / replicate / circular.

    ``pad = (left, right, top, bottom, front, back)`` from the last dim backwards (1, 2 or
    3 dims); a negative width crops, as PyTorch's; the input is (C, *) or (N, C, *) with
    those dims last."""
    pad = _check(input, pad, mode)
    xp = get_array_module(input.array)
    out = input
    for i in range(len(pad) // 2):
        before, after = pad[2 * i], pad[2 * i + 1]
        if not before and not after:
            continue
        dim = input.ndim - 1 - i
        index = _source_index(mode, input.shape[dim], before, after, xp)
        out = Take.apply(out, index=(slice(None),) * dim + (index,))
    return out


__all__ = ["pad", "MODES"]
