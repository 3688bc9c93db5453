r"""``Conv3d`` and ``ConvTranspose3d``: convolutions over volumes (N, C, D, H, W), as
``torch.nn``'s (the math is in ``minicnn/ops/conv3d.py``).

Weights, with PyTorch's shapes and default initialisation (so state_dicts load across):

* Conv3d:          weight (C_out, C_in / groups, T, R, S), bias (C_out,)
* ConvTranspose3d: weight (C_in, C_out / groups, T, R, S), bias (C_out,)

both U(-1/\sqrt{fan_in}, 1/\sqrt{fan_in}) with fan_in = weight.shape[1] T R S (the
kaiming-uniform default of ``layers.py``). Every size argument is an int or a
(depth, height, width) triple; Conv3d's padding may also be 'same' or 'valid'.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..ops.conv3d import triple
from . import _checks
from .layers import _empty_parameter, _reset_weight_and_bias
from .module import Module


class _Conv3dBase(Module):
    """What Conv3d and ConvTranspose3d share: settings, parameters, init, printing."""

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
                             f"{padding_mode!r} (pad with F.pad(x, pads, mode=...) first)")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = triple(kernel_size, "kernel_size", 1, op)
        self.stride = triple(stride, "stride", 1, op)
        self.dilation = triple(dilation, "dilation", 1, op)
        if isinstance(padding, str):
            if transposed or padding not in ("same", "valid"):
                expected = "an int or a triple" if transposed else \
                    "an int, a triple, 'same' or 'valid'"
                raise ValueError(f"{op}: padding: expected {expected}, got {padding!r}")
            if padding == "same" and self.stride != (1, 1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride!r}); give the padding as "
                                 "numbers")
            self.padding = padding
        else:
            self.padding = triple(padding, "padding", 0, op)
        self.output_padding = triple(output_padding, "output_padding", 0, op)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride,
                                                  self.dilation)):
            raise ValueError(f"{op}: output_padding must be smaller than stride or dilation, "
                             f"got output_padding={output_padding!r}, stride={stride!r}, "
                             f"dilation={dilation!r}")
        self.transposed, self.groups, self.padding_mode = transposed, groups, padding_mode
        if transposed:   # ConvTranspose3d: (C_in, C_out / groups, T, R, S)
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:            # Conv3d: (C_out, C_in / groups, T, R, S)
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
        if self.padding != (0, 0, 0):
            text += f", padding={self.padding}"  # 'same' unquoted, as PyTorch prints it
        if self.dilation != (1, 1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv3d(_Conv3dBase):
    r"""3-D convolution (cross-correlation) of volumes.

    Shapes: input (N, C_in, D, H, W) or (C_in, D, H, W) -> output (N, C_out, O, P, Q),
    :math:`O = \lfloor (D + 2\,pad - dil (T - 1) - 1) / stride \rfloor + 1` (P, Q alike).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv3d(input, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class ConvTranspose3d(_Conv3dBase):
    r"""3-D transposed convolution (the gradient of Conv3d with respect to its input):
    upsamples volumes.

    Shapes: input (N, C_in, D, H, W) or (C_in, D, H, W) -> output (N, C_out, O, P, Q),
    :math:`O = (D - 1)\,stride - 2\,pad + dil (T - 1) + output\_padding + 1`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


__all__ = ["Conv3d", "ConvTranspose3d"]
