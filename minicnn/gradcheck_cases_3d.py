"""``minicnn gradcheck`` recipes for the volumetric ops (conv3d, conv_transpose3d,
max_pool3d, avg_pool3d), registered into the same table as ``gradcheck_cases_nn.py``'s.
Volumes are kept tiny (sides 2 to 4): 3-D finite differences are expensive."""
from __future__ import annotations

from . import functional as F
from .gradcheck_draws import _first_valid, case, describe, distinct, uniform


def _triple(rng, low, high):
    return tuple(int(v) for v in rng.integers(low, high, 3))


@case("conv3d", "conv3d: random stride, padding, dilation, groups, bias, non-cubic kernel")
def _conv3d(rng):
    def draw(rng):
        g = int(rng.choice([1, 2]))
        s = dict(stride=_triple(rng, 1, 3), padding=_triple(rng, 0, 2),
                 dilation=_triple(rng, 1, 3), groups=g)
        c, k = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        x = uniform(rng, (int(rng.integers(1, 3)), c) + _triple(rng, 2, 5))
        weight, bias = uniform(rng, (k, c // g) + _triple(rng, 1, 3)), uniform(rng, (k,))
        return ((lambda x, weight, bias: F.conv3d(x, weight, bias, **s)), (x, weight, bias),
                describe(x=x, weight=weight, **s))
    return _first_valid(rng, draw)


@case("conv_transpose3d", "conv_transpose3d: stride, padding, output_padding, dilation")
def _conv_transpose3d(rng):
    def draw(rng):
        g = int(rng.choice([1, 2]))
        s = dict(stride=_triple(rng, 1, 3), padding=_triple(rng, 0, 2),
                 dilation=_triple(rng, 1, 3), groups=g)
        s["output_padding"] = tuple(int(rng.integers(0, max(a, b)))
                                    for a, b in zip(s["stride"], s["dilation"]))
        c_in, c_out = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        x = uniform(rng, (1, c_in) + _triple(rng, 1, 4))
        weight = uniform(rng, (c_in, c_out // g) + _triple(rng, 1, 3))
        bias = uniform(rng, (c_out,))
        return ((lambda x, weight, bias: F.conv_transpose3d(x, weight, bias, **s)),
                (x, weight, bias), describe(x=x, weight=weight, **s))
    return _first_valid(rng, draw)


@case("max_pool3d", "3-D max pooling, tie-free values: kernel, stride, padding, dilation, ceil")
def _max_pool3d(rng):
    def draw(rng):
        kernel = _triple(rng, 1, 3)
        s = dict(kernel_size=kernel, stride=_triple(rng, 1, 3),
                 padding=tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel),
                 dilation=_triple(rng, 1, 3), ceil_mode=bool(rng.random() < 0.5))
        x = distinct(rng, (int(rng.integers(1, 3)), 2) + _triple(rng, 2, 5))
        return (lambda x: F.max_pool3d(x, **s)), (x,), describe(x=x, **s)
    return _first_valid(rng, draw)


@case("avg_pool3d", "3-D average pooling: ceil, count_include_pad, divisor_override")
def _avg_pool3d(rng):
    def draw(rng):
        kernel = _triple(rng, 1, 4)
        s = dict(kernel_size=kernel, stride=_triple(rng, 1, 3),
                 padding=tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel),
                 ceil_mode=bool(rng.random() < 0.5),
                 count_include_pad=bool(rng.random() < 0.5),
                 divisor_override=int(rng.choice([0, 3])) or None)
        x = uniform(rng, (1, 2) + _triple(rng, 2, 5))
        return (lambda x: F.avg_pool3d(x, **s)), (x,), describe(x=x, **s)
    return _first_valid(rng, draw)
