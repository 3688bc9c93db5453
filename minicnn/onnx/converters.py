"""One ONNX converter per autograd Function.

A converter is ``convert(builder, fn, inputs) -> output name``: ``fn`` is the recorded
Function (its input tensors in ``fn.inputs``, its output in ``fn.output``, the keywords it
was applied with in ``fn.keywords``), ``inputs`` the ONNX names of its inputs. It appends
its nodes with ``builder.node(...)`` and returns the name of the node that holds the
Function's output. Composite ops need no converter: ``batch_norm`` in eval mode,
``layer_norm``, ``group_norm``, ``linear`` and ``interpolate`` are recorded as the
primitives they are built from (subtractions, products, matrix products ...).

Layouts: minicnn keeps PyTorch's, and PyTorch's are ONNX's (NCHW activations; conv weights
(K, C/G, R, S); transposed-conv weights (C_in, C_out/G, R, S)), so weights go in unchanged.
"""
from __future__ import annotations

import numpy as np

from ..geometry import conv_transpose_output_size
from ..ops import activation, activation_extra, conv, conversion, math, norm, pool, shape
from .graph import GraphBuilder, UnsupportedOperatorError

CONVERTERS: dict = {}


def converts(*function_classes):
    """Register the decorated converter for ``function_classes``."""
    def register(convert):
        for cls in function_classes:
            CONVERTERS[cls] = convert
        return convert
    return register


def _refuse(fn, why: str):
    raise UnsupportedOperatorError(f"minicnn.onnx.export: {type(fn).__name__} cannot be "
                                   f"exported: {why}")


# -- elementwise --------------------------------------------------------------------------
_SAME_NAME = {math.Add: "Add", math.Sub: "Sub", math.Mul: "Mul", math.Div: "Div",
              math.Pow: "Pow", math.Neg: "Neg", math.Exp: "Exp", math.Log: "Log",
              math.Sqrt: "Sqrt", activation.TanhFunction: "Tanh",
              activation.SigmoidFunction: "Sigmoid",
              math.MatMul: "MatMul", conversion.Move: "Identity"}


@converts(*_SAME_NAME)
def _same_name(b: GraphBuilder, fn, inputs):
    return b.node(_SAME_NAME[type(fn)], inputs)


@converts(math.MaskMul)
def _mask_mul(b, fn, inputs):
    rule = fn.keywords.get("rule")
    if rule == ("relu",):
        return b.node("Relu", inputs)
    if rule == ("abs",):
        return b.node("Abs", inputs)
    _refuse(fn, "its mask was computed from this call's values (clamp, maximum, dropout in "
                "training mode, a loss's class weights ...), so a graph cannot reproduce it")


@converts(math.Where)
def _where(b, fn, inputs):
    _refuse(fn, "its condition is a constant array computed from this call's values")


@converts(activation_extra.HardtanhFunction)
def _hardtanh(b, fn, inputs):
    dtype = fn.inputs[0].dtype
    low = b.constant(np.asarray(fn.keywords["min_val"], dtype=dtype), "min")
    high = b.constant(np.asarray(fn.keywords["max_val"], dtype=dtype), "max")
    return b.node("Clip", [inputs[0], low, high])


@converts(activation_extra.HardsigmoidFunction)
def _hardsigmoid(b, fn, inputs):
    return b.node("HardSigmoid", inputs, alpha=1.0 / 6.0, beta=0.5)


@converts(activation.LeakyReLUFunction)
def _leaky_relu(b, fn, inputs):
    return b.node("LeakyRelu", inputs, alpha=float(fn.keywords["negative_slope"]))


@converts(activation.ELUFunction)
def _elu(b, fn, inputs):
    return b.node("Elu", inputs, alpha=float(fn.keywords["alpha"]))


@converts(activation.SoftplusFunction)
def _softplus(b, fn, inputs):
    """softplus(x, beta) = Softplus(beta x) / beta (PyTorch's threshold only switches to
    the identity where the two agree to float precision)."""
    beta = float(fn.keywords["beta"])
    if beta == 1.0:
        return b.node("Softplus", inputs)
    dtype = fn.inputs[0].dtype
    scale = b.constant(np.asarray(beta, dtype=dtype), "beta")
    scaled = b.node("Mul", [inputs[0], scale])
    return b.node("Div", [b.node("Softplus", [scaled]), scale])


@converts(activation.SoftmaxFunction, activation.LogSoftmaxFunction)
def _softmax(b, fn, inputs):
    op = "Softmax" if isinstance(fn, activation.SoftmaxFunction) else "LogSoftmax"
    return b.node(op, inputs, axis=int(fn.keywords["dim"]))


@converts(conversion.Cast)
def _cast(b, fn, inputs):
    to = b.helper.np_dtype_to_tensor_dtype(np.dtype(fn.keywords["dtype"]))
    return b.node("Cast", inputs, to=int(to))


# -- reductions ---------------------------------------------------------------------------
def _axes_of(fn) -> list[int]:
    axes = fn.keywords.get("axes")
    ndim = fn.inputs[0].ndim
    return list(range(ndim)) if axes is None else [int(a) % max(ndim, 1) for a in axes]


@converts(math.Sum)
def _sum(b, fn, inputs):
    keep = int(bool(fn.keywords.get("keepdim", False)))
    return b.node("ReduceSum", [inputs[0], b.int64s(_axes_of(fn), "axes")], keepdims=keep)


@converts(math.Extremum)
def _extremum(b, fn, inputs):
    op = "ReduceMax" if fn.keywords.get("largest", True) else "ReduceMin"
    keep = int(bool(fn.keywords.get("keepdim", False)))
    if b.opset >= 18:
        return b.node(op, [inputs[0], b.int64s(_axes_of(fn), "axes")], keepdims=keep)
    return b.node(op, inputs[:1], axes=_axes_of(fn), keepdims=keep)


# -- shapes -------------------------------------------------------------------------------
@converts(shape.Reshape)
def _reshape(b, fn, inputs):
    """The batch axis is kept as ONNX's 0 ("copy this dimension") when the reshape keeps it,
    so an exported model takes any batch size."""
    in_shape, out_shape = fn.inputs[0].shape, list(fn.output.shape)
    if in_shape and out_shape and in_shape[0] == out_shape[0]:
        out_shape[0] = 0
    return b.node("Reshape", [inputs[0], b.int64s(out_shape, "shape")])


@converts(shape.Permute)
def _permute(b, fn, inputs):
    return b.node("Transpose", inputs, perm=[int(d) for d in fn.keywords["dims"]])


@converts(shape.BroadcastTo)
def _broadcast_to(b, fn, inputs):
    """An expand to the traced batch size (StyleGAN's learned constant input, expanded to
    N copies) follows the run-time batch size when the batch axis is dynamic."""
    target = [int(d) for d in fn.keywords["shape"]]
    lead = len(target) - fn.inputs[0].ndim
    if (b.batch_input is not None and target and target[0] == b.batch_size
            and (lead > 0 or fn.inputs[0].shape[0] == 1)):
        rest = b.int64s(target[1:], "shape")
        return b.node("Expand", [inputs[0], b.node("Concat", [b.batch_dimension(), rest],
                                                    axis=0)])
    return b.node("Expand", [inputs[0], b.int64s(target, "shape")])


@converts(shape.Cat)
def _cat(b, fn, inputs):
    return b.node("Concat", inputs, axis=int(fn.keywords["dim"]) % fn.output.ndim)


@converts(shape.Pad)
def _pad(b, fn, inputs):
    widths = fn.keywords["widths"]
    pads = [int(w[0]) for w in widths] + [int(w[1]) for w in widths]
    value = b.constant(np.asarray(fn.keywords.get("value", 0), dtype=fn.inputs[0].dtype),
                       "pad_value")
    return b.node("Pad", [inputs[0], b.int64s(pads, "pads"), value], mode="constant")


@converts(shape.GetItem)
def _get_item(b, fn, inputs):
    """Basic indexing (ints, slices, None, ...) as Slice, then Squeeze/Unsqueeze."""
    index = fn.keywords["index"]
    index = index if isinstance(index, tuple) else (index,)
    if any(not isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
           for i in index):
        _refuse(fn, "advanced indexing (an index array) is not exported; use basic "
                    "slices")
    dims = fn.inputs[0].shape
    used = sum(1 for i in index if i is not None and i is not Ellipsis)
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (len(dims) - used) + index[at + 1:]
    index = index + (slice(None),) * (len(dims) - sum(1 for i in index if i is not None))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for item in index:
        if item is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        size = dims[axis]
        if isinstance(item, slice):
            if item != slice(None):
                start, stop, step = item.indices(size)
                if step < 0 and stop < 0:
                    stop = -size - 1  # "before the first element" for a backward slice
                starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
            out_axis += 1
        else:
            position = int(item) % size
            starts.append(position), ends.append(position + 1), axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    out = inputs[0]
    if axes:
        out = b.node("Slice", [out, b.int64s(starts, "starts"), b.int64s(ends, "ends"),
                               b.int64s(axes, "axes"), b.int64s(steps, "steps")])
    if squeeze:
        out = b.node("Squeeze", [out, b.int64s(squeeze, "axes")])
    if unsqueeze:
        out = b.node("Unsqueeze", [out, b.int64s(unsqueeze, "axes")])
    return out if out != inputs[0] else b.node("Identity", inputs)


# -- convolution and pooling --------------------------------------------------------------
def _onnx_pads(padding) -> list[int]:
    """minicnn's (top, bottom, left, right) as ONNX's (top, left, bottom, right)."""
    top, bottom, left, right = (int(p) for p in padding)
    return [top, left, bottom, right]


@converts(conv.Conv2dFunction)
def _conv2d(b, fn, inputs):
    k = fn.keywords
    return b.node("Conv", inputs, strides=list(k["stride"]), pads=_onnx_pads(k["padding"]),
                  dilations=list(k["dilation"]), group=int(k["groups"]),
                  kernel_shape=list(fn.inputs[1].shape[2:]))


@converts(conv.ConvTranspose2dFunction)
def _conv_transpose2d(b, fn, inputs):
    """The output size (H, W) comes back through ONNX's output_padding: the rows and columns
    that the stride leaves over at the bottom and right."""
    k = fn.keywords
    (H_in, W_in), (R, S) = fn.inputs[0].shape[2:], fn.inputs[1].shape[2:]
    top, bottom, left, right = (int(p) for p in k["padding"])
    extra = []
    for size, size_in, kernel, stride, dilation, pads in (
            (k["input_hw"][0], H_in, R, k["stride"][0], k["dilation"][0], top + bottom),
            (k["input_hw"][1], W_in, S, k["stride"][1], k["dilation"][1], left + right)):
        extra.append(int(size) - conv_transpose_output_size(size_in, kernel, stride, pads,
                                                            dilation))
    return b.node("ConvTranspose", inputs, strides=list(k["stride"]),
                  pads=[top, left, bottom, right], dilations=list(k["dilation"]),
                  group=int(k["groups"]), kernel_shape=[R, S], output_padding=extra)


@converts(pool.MaxPool2dFunction)
def _max_pool2d(b, fn, inputs):
    w = fn.keywords["window"]
    ph, pw = w["padding"]
    return b.node("MaxPool", inputs, kernel_shape=list(w["kernel_size"]),
                  strides=list(w["stride"]), pads=[ph, pw, ph, pw],
                  dilations=list(w["dilation"]), ceil_mode=int(w["ceil_mode"]))


@converts(pool.AvgPool2dFunction)
def _avg_pool2d(b, fn, inputs):
    k = fn.keywords
    if k.get("divisor_override") is not None:
        _refuse(fn, "divisor_override has no ONNX equivalent")
    w = k["window"]
    ph, pw = w["padding"]
    return b.node("AveragePool", inputs, kernel_shape=list(w["kernel_size"]),
                  strides=list(w["stride"]), pads=[ph, pw, ph, pw],
                  ceil_mode=int(w["ceil_mode"]),
                  count_include_pad=int(bool(k["count_include_pad"])))


@converts(norm.BatchNormTraining)
def _batch_norm_training(b, fn, inputs):
    _refuse(fn, "batch norm normalises with this batch's statistics (training mode, or "
                "track_running_stats=False); export runs the model in eval mode, so give "
                "the layer running statistics")


from . import converters3d  # noqa: E402  (importing it registers the volumetric converters)
del converters3d
