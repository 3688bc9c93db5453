"""ONNX converters for the volumetric Functions (``ops/conv3d.py``, ``ops/pool3d.py``):
ONNX's Conv, ConvTranspose, MaxPool and AveragePool take any number of spatial dims, so
these are ``converters.py``'s 2-D ones with three. ``adaptive_avg_pool3d`` needs none (it
is recorded as matmuls and reshapes).

Pads: minicnn's (front, back, top, bottom, left, right) are ONNX's
(front, top, left, back, bottom, right): every begin, then every end.
"""
from __future__ import annotations

from ..geometry import conv_transpose_output_size
from ..ops import conv3d, pool3d
from .converters import _refuse, converts


def _onnx_pads(padding) -> list[int]:
    sides = [int(p) for p in padding]
    return sides[0::2] + sides[1::2]


@converts(conv3d.Conv3dFunction)
def _conv3d(b, fn, inputs):
    k = fn.keywords
    return b.node("Conv", inputs, strides=list(k["stride"]), pads=_onnx_pads(k["padding"]),
                  dilations=list(k["dilation"]), group=int(k["groups"]),
                  kernel_shape=list(fn.inputs[1].shape[2:]))


@converts(conv3d.ConvTranspose3dFunction)
def _conv_transpose3d(b, fn, inputs):
    """The output size comes back through ONNX's output_padding (as in 2-D)."""
    k = fn.keywords
    sizes_in, kernel = fn.inputs[0].shape[2:], fn.inputs[1].shape[2:]
    pads = [int(p) for p in k["padding"]]
    extra = [int(size) - conv_transpose_output_size(size_in, r, s, pads[2 * i] + pads[2 * i + 1], d)
             for i, (size, size_in, r, s, d) in enumerate(zip(k["input_size"], sizes_in, kernel,
                                                             k["stride"], k["dilation"]))]
    return b.node("ConvTranspose", inputs, strides=list(k["stride"]), pads=_onnx_pads(pads),
                  dilations=list(k["dilation"]), group=int(k["groups"]),
                  kernel_shape=list(kernel), output_padding=extra)


@converts(pool3d.MaxPool3dFunction)
def _max_pool3d(b, fn, inputs):
    w = fn.keywords["window"]
    return b.node("MaxPool", inputs, kernel_shape=list(w["kernel_size"]),
                  strides=list(w["stride"]), pads=list(w["padding"]) * 2,
                  dilations=list(w["dilation"]), ceil_mode=int(w["ceil_mode"]))


@converts(pool3d.AvgPool3dFunction)
def _avg_pool3d(b, fn, inputs):
    k = fn.keywords
    if k.get("divisor_override") is not None:
        _refuse(fn, "divisor_override has no ONNX equivalent")
    w = k["window"]
    return b.node("AveragePool", inputs, kernel_shape=list(w["kernel_size"]),
                  strides=list(w["stride"]), pads=list(w["padding"]) * 2,
                  ceil_mode=int(w["ceil_mode"]),
                  count_include_pad=int(bool(k["count_include_pad"])))
