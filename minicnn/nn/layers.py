r"""Layers: modules that hold their hyperparameters (and weights) and call ``minicnn.functional``.

Each layer is a few lines: ``__init__`` stores the settings and creates the Parameters with
PyTorch's shapes and default initialisation, ``forward`` calls the matching function of
``minicnn.functional`` (where the math and the gradients live), ``extra_repr`` prints the
settings as PyTorch does. Normalisation layers are in ``normalization.py``.

Shape names: N batch, C channels, H x W image, L features.
"""
from __future__ import annotations

import math

from .. import functional as F
from ..autograd import Tensor
from ..ops.creation import zeros
from . import _checks, init
from .module import Module, Parameter
from . import _inplace


def _empty_parameter(shape, dtype, device) -> Parameter:
    return Parameter(zeros(*shape, dtype=dtype, device=device))


def _reset_weight_and_bias(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default for Linear and Conv: weight and bias both U(-1/sqrt(fan_in),
    1/sqrt(fan_in)). (kaiming_uniform_ with a = sqrt(5) gives gain sqrt(1/3), so its
    bound sqrt(3) * gain / sqrt(fan_in) is exactly 1/sqrt(fan_in).) An empty weight
    (Linear(0, 3)) is left as it is and its bias bound is 0, as in PyTorch."""
    if weight.array.size:
        init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


# ---------------------------------------------------------------------------------------
# Linear and convolution
# ---------------------------------------------------------------------------------------
class Linear(Module):
    r"""Fully connected layer: :math:`y = x W^T + b`.

    Shapes: input (N, *, in_features) -> output (N, *, out_features);
    weight (out_features, in_features), bias (out_features,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        in_features = _checks.size("Linear", "in_features", in_features)
        out_features = _checks.size("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty_parameter((out_features, in_features), dtype, device)
        if bias:
            self.bias = _empty_parameter((out_features,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        weight = self.weight  # read once: a parametrized weight is computed on each read
        if isinstance(input, Tensor) and input.dtype != weight.dtype:
            raise TypeError(
                f"Linear: input has dtype {input.dtype} but the layer's weight has dtype "
                f"{weight.dtype} (PyTorch: 'mat1 and mat2 must have the same dtype'); "
                f"convert the input (x.to({str(weight.dtype)!r}))"
                + (f" or the layer (.to({str(input.dtype)!r}))" if input.dtype.kind == "f"
                   else ""))
        return F.linear(input, weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: settings, parameters, init, printing."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device, dtype):
        super().__init__()
        op = type(self).__name__
        in_channels = _checks.size(op, "in_channels", in_channels)
        out_channels = _checks.size(op, "out_channels", out_channels)
        groups = _checks.size(op, "groups", groups, minimum=1)
        _checks.divisible(op, "in_channels", in_channels, "groups", groups)
        _checks.divisible(op, "out_channels", out_channels, "groups", groups)
        if padding_mode != "zeros":
            raise ValueError(f"{op}: padding_mode: only 'zeros' is supported, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _checks.window(op, "kernel_size", kernel_size, 1)
        self.stride = _checks.window(op, "stride", stride, 1)
        self.dilation = _checks.window(op, "dilation", dilation, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{op}: padding: expected an int, a pair, 'same' or 'valid', "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride!r}); give the padding as "
                                 "numbers")
            self.padding = padding
        else:
            self.padding = _checks.window(op, "padding", padding, 0)
        self.output_padding = _checks.window(op, "output_padding", output_padding, 0)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride,
                                                  self.dilation)):
            raise ValueError(f"{op}: output_padding must be smaller than stride or dilation, "
                             f"got output_padding={output_padding!r}, stride={stride!r}, "
                             f"dilation={dilation!r}")
        self.transposed, self.groups, self.padding_mode = transposed, groups, padding_mode
        if transposed:   # ConvTranspose2d: (C_in, C_out / groups, R, S)
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:            # Conv2d: (C_out, C_in / groups, R, S)
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = _empty_parameter(shape, dtype, device)
        if bias:
            self.bias = _empty_parameter((out_channels,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    r"""2-D convolution (cross-correlation), see ``minicnn/ops/conv.py`` for the math.

    Shapes: input (N, C_in, H, W) -> output (N, C_out, P, Q) with
    :math:`P = \lfloor (H + 2\,pad - dil (R - 1) - 1) / stride \rfloor + 1`;
    weight (C_out, C_in / groups, R, S), bias (C_out,).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    r"""Transposed convolution (the gradient of Conv2d with respect to its input): each
    input pixel adds a weighted copy of the kernel to the output. Upsamples in generators.

    Shapes: input (N, C_in, H, W) -> output (N, C_out, P, Q) with
    :math:`P = (H - 1)\,stride - 2\,pad + dil (R - 1) + output\_padding + 1`;
    weight (C_in, C_out / groups, R, S) (note: C_in first, as PyTorch), bias (C_out,).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        if isinstance(padding, str):
            raise ValueError("ConvTranspose2d: padding must be an int or a pair, not a string")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


# ---------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------
class ReLU(Module):
    """y = max(x, 0), elementwise; ``inplace=True`` writes it into the input, as PyTorch's."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, F.relu, input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x (``inplace`` as ReLU)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return _inplace.run(self, F.leaky_relu, input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softplus(Module):
    """y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold (for stability)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


# ---------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------
class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1/(1-p)
    (so the expected value is unchanged); in eval mode, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p, self.inplace = _checks.probability(type(self).__name__, "p", p), inplace

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or (self.inplace and self.p == 0):
            return F.dropout(input, self.p, False)  # the input itself, as PyTorch's
        return _inplace.run(self, F.dropout, input, self.p, True)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Dropout of whole channels: input (N, C, H, W), each (n, c) map is zeroed with
    probability p (neighbouring pixels are correlated, so single pixels would leak)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)


# ---------------------------------------------------------------------------------------
# Pooling and resizing
# ---------------------------------------------------------------------------------------
def _check_pool(layer: str, kernel_size, stride, padding, dilation) -> None:
    """kernel_size, stride (None: the kernel's) and dilation >= 1, padding at most half
    the kernel (the settings are stored as given, as PyTorch prints them)."""
    _checks.window(layer, "kernel_size", kernel_size, 1)
    if not (stride is None or isinstance(stride, (tuple, list)) and len(stride) == 0):
        _checks.window(layer, "stride", stride, 1)  # None, () and []: the kernel's
    _checks.window(layer, "dilation", dilation, 1)
    _checks.pool_padding(layer, kernel_size, padding)


class MaxPool2d(Module):
    """Maximum over each kernel_size window. (N, C, H, W) -> (N, C, P, Q);
    stride defaults to kernel_size (windows that do not overlap)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        _check_pool("MaxPool2d", kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        extra = {"return_indices": True} if self.return_indices else {}
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, **extra)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over each kernel_size window. (N, C, H, W) -> (N, C, P, Q)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        _check_pool("AvgPool2d", kernel_size, stride, padding, 1)
        if divisor_override is not None and (
                not hasattr(type(divisor_override), "__index__") or divisor_override == 0):
            raise (ValueError if divisor_override == 0 else TypeError)(
                f"AvgPool2d: divisor_override: expected None or a non-zero int, got "
                f"{divisor_override!r}")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        extra = {} if self.divisor_override is None else {"divisor_override": self.divisor_override}
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, **extra)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Upsample(Module):
    """Resize images (N, C, H, W) to ``size`` or by ``scale_factor``; mode 'nearest',
    'nearest-exact', 'bilinear', 'bicubic' or 'area' (see ``functional.interpolate``)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"


# ---------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------
class Flatten(Module):
    """Merge dims start_dim..end_dim: (N, C, H, W) -> (N, C*H*W) with the defaults."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: Unflatten(1, (C, H, W)) turns
    (N, C*H*W) into (N, C, H, W). One entry of the size may be -1."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"Unflatten: input: expected a Tensor, got {type(input).__name__}")
        if not -max(input.ndim, 1) <= self.dim < max(input.ndim, 1) or input.ndim == 0:
            raise IndexError(f"Unflatten: dim: dimension out of range (expected to be in "
                             f"range of [{-max(input.ndim, 1)}, {max(input.ndim, 1) - 1}], "
                             f"but got {self.dim}) for input of shape {input.shape}")
        dim = self.dim % input.ndim
        size = self.unflattened_size
        if -1 in size:
            known = math.prod([s for s in size if s != -1])
            size = tuple(input.shape[dim] // known if s == -1 else s for s in size)
        if math.prod(size) != input.shape[dim]:
            raise ValueError(f"Unflatten: unflattened_size {self.unflattened_size} does not "
                             f"multiply to dim {self.dim}'s size {input.shape[dim]}")
        return input.reshape(input.shape[:dim] + size + input.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """y = x. Accepts (and ignores) any arguments, so it can stand in for another layer."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input
