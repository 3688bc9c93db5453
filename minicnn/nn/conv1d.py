r"""``Conv1d`` and ``ConvTranspose1d``: 1-D convolutions over signals (N, C, L), as
``torch.nn``'s.

Weight (out_channels, in_channels / groups, kernel_size) and bias (out_channels,), both
U(-1/\sqrt{fan_in}, 1/\sqrt{fan_in}) with fan_in = in_channels / groups * kernel_size
(PyTorch's default). ``forward`` calls ``conv1d`` (``minicnn/ops/conv1d.py``: a
height-1 ``conv2d``, so it has conv2d's gradients, to any order).

Output length: L_out = floor((L + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..ops.conv1d import conv1d, conv_transpose1d
from . import _checks
from .layers import _empty_parameter, _reset_weight_and_bias
from .module import Module


def _channels(layer: str, in_channels, out_channels, groups) -> tuple[int, int, int]:
    in_channels = _checks.size(layer, "in_channels", in_channels)
    out_channels = _checks.size(layer, "out_channels", out_channels)
    groups = _checks.size(layer, "groups", groups, minimum=1)
    _checks.divisible(layer, "in_channels", in_channels, "groups", groups)
    _checks.divisible(layer, "out_channels", out_channels, "groups", groups)
    return in_channels, out_channels, groups


class Conv1d(Module):
    """``Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True)``; padding may be an int, 'valid' or 'same'."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__()
        in_channels, out_channels, groups = _channels("Conv1d", in_channels, out_channels,
                                                      groups)
        if padding_mode != "zeros":
            raise ValueError(f"Conv1d: padding_mode: only 'zeros' is supported, got "
                             f"{padding_mode!r} (PyTorch also has 'reflect', 'replicate' and "
                             "'circular': pad with F.pad(x, (p, p), mode=...) first)")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Conv1d: padding: expected an int, 'same' or 'valid', got "
                             f"{padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _checks.single("Conv1d", "kernel_size", kernel_size, 1)
        self.stride = _checks.single("Conv1d", "stride", stride, 1)
        self.dilation = _checks.single("Conv1d", "dilation", dilation, 1)
        self.padding = (padding if isinstance(padding, str)
                        else _checks.single("Conv1d", "padding", padding, 0))
        if self.padding == "same" and self.stride != (1,):
            raise ValueError("Conv1d: padding='same' is not supported for strided "
                             "convolutions (PyTorch raises too)")
        self.padding_mode = padding_mode
        self.weight = _empty_parameter((out_channels, in_channels // groups) + self.kernel_size,
                                       dtype, device)
        if bias:
            self.bias = _empty_parameter((out_channels,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(input, self.weight, self.bias, self.stride[0], padding, self.dilation[0],
                      self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,):
            text += f", padding={self.padding}"  # 'same' unquoted, as PyTorch prints it
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + (", bias=False" if self.bias is None else "")


class ConvTranspose1d(Module):
    """``ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1)``: the gradient of Conv1d with
    respect to its input, as a layer (upsampling signals). Weight (in_channels,
    out_channels / groups, kernel_size); L_out = (L - 1) s - 2 p + d (k - 1) +
    output_padding + 1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        layer = "ConvTranspose1d"
        in_channels, out_channels, groups = _channels(layer, in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose1d: padding_mode: only 'zeros' is supported (as "
                             f"in PyTorch), got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _checks.single(layer, "kernel_size", kernel_size, 1)
        self.stride = _checks.single(layer, "stride", stride, 1)
        self.padding = _checks.single(layer, "padding", padding, 0)
        self.output_padding = _checks.single(layer, "output_padding", output_padding, 0)
        self.dilation, self.padding_mode = _checks.single(layer, "dilation", dilation, 1), \
            padding_mode
        if not (self.output_padding[0] < self.stride[0]
                or self.output_padding[0] < self.dilation[0]):
            raise ValueError(f"ConvTranspose1d: output_padding ({self.output_padding[0]}) "
                             f"must be smaller than either stride ({self.stride[0]}) or "
                             f"dilation ({self.dilation[0]})")
        self.weight = _empty_parameter((in_channels, out_channels // groups) + self.kernel_size,
                                       dtype, device)
        if bias:
            self.bias = _empty_parameter((out_channels,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return conv_transpose1d(input, self.weight, self.bias, self.stride[0], self.padding[0],
                                self.output_padding[0], self.groups, self.dilation[0])

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        for name, default in (("padding", (0,)), ("dilation", (1,)),
                              ("output_padding", (0,))):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + (", bias=False" if self.bias is None else "")
