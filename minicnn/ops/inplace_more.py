"""The rest of PyTorch's in-place tensor methods (``x.sigmoid_()``, ``x.floor_()``,
``x.lt_(y)``, ``x.detach_()`` ...): each is its out-of-place twin written back into the
tensor with ``inplace.apply_in_place``'s rules (the leaf rule, the version counter, the
rebased history, views), as those of ``ops/inplace.py``. A result that cannot be stored in
the tensor's dtype is refused as PyTorch refuses it (``int_tensor.sigmoid_()``)."""
from __future__ import annotations

from ..autograd import Tensor
from .inplace import apply_in_place

# out-of-place name -> in-place name, where PyTorch has the in-place one
_NAMES = ("sigmoid", "tanh", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
          "asinh", "acosh", "atanh", "floor", "ceil", "round", "trunc", "fix", "frac",
          "sign", "sgn", "rsqrt", "square", "reciprocal", "erf", "erfc", "erfinv", "exp2",
          "expm1", "log2", "log10", "log1p", "lgamma", "digamma", "logit", "sinc", "i0",
          "remainder", "fmod", "multiply", "subtract", "divide", "true_divide",
          "floor_divide", "float_power", "copysign", "heaviside", "hypot", "atan2",
          "arctan2", "lerp", "addcmul", "addcdiv", "addmm", "addmv", "baddbmm", "addbmm",
          "cumsum", "cumprod", "eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less",
          "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
          "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
          "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "nan_to_num",
          "masked_fill", "masked_scatter", "index_fill", "index_add", "index_copy",
          "scatter", "scatter_add", "scatter_reduce", "index_put", "put", "renorm",
          "polygamma", "mvlgamma", "ldexp", "xlogy", "swapdims", "relu", "hardtanh",
          "leaky_relu", "elu", "selu", "celu", "silu", "mish", "hardswish", "hardsigmoid",
          "threshold", "exponential", "geometric", "cauchy", "log_normal", "random",
          "bernoulli", "clamp_min", "clamp_max", "deg2rad", "rad2deg", "neg", "negative",
          "absolute", "arccos", "arcsin", "arctan", "arccosh", "arcsinh", "arctanh", "tril",
          "triu", "gcd", "lcm", "nextafter")


def _in_place(name: str, function):
    def method(self, *args, **kwargs):
        return apply_in_place(self, lambda x: function(x, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"``x.{name[:-1]}(...)`` written into x, with PyTorch's in-place rules."
    return method


def detach_(self: Tensor) -> Tensor:
    """Take ``self`` out of the graph, in place (PyTorch's ``detach_``)."""
    self.creator, self._requires_grad = None, False
    return self


def missing_in_place_methods(methods: dict) -> dict:
    """``{name_: method}`` for each out-of-place method in ``methods`` whose in-place form
    PyTorch has and ``methods`` lacks."""
    found = {}
    for name in _NAMES:
        function = methods.get(name) or getattr(Tensor, name, None)
        if function is not None and f"{name}_" not in methods \
                and not hasattr(Tensor, f"{name}_"):
            found[f"{name}_"] = _in_place(f"{name}_", function)
    if "detach_" not in methods:
        found["detach_"] = detach_
    return found
