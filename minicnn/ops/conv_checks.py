"""Argument checks of ``ops/conv.py``'s conv2d/conv_transpose2d (split from it): bad
input gets PyTorch's error type and a message naming the argument, the expected and the
got."""
from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from ..geometry import conv2d_output_hw
from .torch_errors import RuntimeTypeError, RuntimeValueError


# ---------------------------------------------------------------------------------------
# Argument checks: bad input gets an error naming the argument, the expected and the got.
# ---------------------------------------------------------------------------------------
_SHAPES_2D = {"input": "(N, C, H, W)", "grad_output": "(N, C, H, W)", "weight": "(K, C/G, R, S)"}


def _check_tensors(op: str, first: tuple, second: tuple, rank: int = 4,
                   shapes: dict = _SHAPES_2D) -> None:
    """Both ``rank``-D float tensors of one dtype on one device; ``first``/``second`` are
    (name, tensor) pairs, named in the errors with their expected layout from ``shapes``
    (conv2d's by default; conv3d passes its own, rank 5)."""
    for name, tensor in (first, second):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{op}: {name}: expected a minicnn Tensor, got "
                            f"{type(tensor).__name__}")
    for name, tensor in (second, first):  # the weight's rank first: the likelier mistake
        if tensor.ndim != rank:
            expected = shapes.get(name, shapes["weight"])
            raise RuntimeValueError(f"{op}: {name}: expected a {rank}-D tensor {expected}, "
                                    f"got {tensor.ndim}-D with shape {tuple(tensor.shape)}")
    (name_a, a), (name_b, b) = first, second
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise RuntimeTypeError(f"{op}: expected floating-point tensors, got {name_a} {a.dtype} and "
                               f"{name_b} {b.dtype}")
    if a.dtype != b.dtype:
        raise RuntimeTypeError(f"{op}: {name_a} has dtype {a.dtype} but {name_b} has dtype "
                               f"{b.dtype}; convert one of them (.float() or .double())")
    if a.device != b.device:
        raise RuntimeValueError(f"{op}: {name_a} is on {a.device} but {name_b} is on {b.device}")


def _check_groups(op: str, groups, counts) -> int:
    """``groups`` a positive int dividing every (count, name) in ``counts``."""
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise RuntimeValueError(f"{op}: groups: expected a positive int, got {groups!r}")
    for count, name in counts:
        if count % groups != 0:
            raise RuntimeValueError(f"{op}: groups={groups} must divide {name}, got {count}")
    return groups


def _check_kernel_fits(op: str, input_size, kernel, padding, dilation) -> None:
    """The dilated kernel fits in the padded input, in every spatial dim (conv2d's and
    conv3d's); ``padding`` is (before, after) per dim, flattened."""
    padded = tuple(size + padding[2 * i] + padding[2 * i + 1] for i, size in enumerate(input_size))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s > p for s, p in zip(span, padded)):
        x = "x".join
        raise RuntimeValueError(
            f"{op}: kernel size {x(map(str, span))} (kernel {x(map(str, kernel))}, dilation "
            f"{x(map(str, dilation))}) is larger than the padded input {x(map(str, padded))} "
            f"(input {x(map(str, input_size))} plus padding)")


def _add_bias(y: Tensor, bias, channels: int, op: str) -> Tensor:
    if bias is None:
        return y
    if not isinstance(bias, Tensor) or bias.shape != (channels,):
        got = tuple(bias.shape) if isinstance(bias, Tensor) else type(bias).__name__
        raise RuntimeValueError(f"{op}: bias: expected a tensor of shape ({channels},), got {got}")
    if bias.dtype != y.dtype:
        raise RuntimeTypeError(f"{op}: input type ({y.dtype}) and bias type ({bias.dtype}) "
                               "should be the same (as PyTorch)")
    return y + bias.reshape(1, channels, 1, 1)


def _empty_conv(op, input, weight, bias, stride, padding, dilation):
    """A conv2d with no output channels (PyTorch raises) or no input channels (PyTorch
    returns an empty (N, 0, P, Q), still in the graph)."""
    K = weight.shape[0]
    if not K:
        raise RuntimeValueError(f"{op}: expected weight to be at least 1 at dimension 0, got "
                                f"weight of size {tuple(weight.shape)} (as PyTorch)")
    P, Q = conv2d_output_hw(input.shape[2:], weight.shape[2:], stride, padding, dilation)
    empty = Tensor._wrap(get_array_module(input.array).zeros((input.shape[0], 0, P, Q),
                                                             dtype=input.dtype))
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (K,)):
        raise RuntimeValueError(f"{op}: bias: expected a tensor of shape ({K},)")
    return empty * (input.sum() + weight.sum())
