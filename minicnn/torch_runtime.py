"""PyTorch's runtime switches that training scripts set on their way in, each doing what it
can do in minicnn and saying where that is nothing.

* memory formats: ``mc.channels_last``, ``mc.contiguous_format``, ``mc.preserve_format``.
  ``x.to(memory_format=mc.channels_last)`` changes only how PyTorch *strides* a tensor, never
  its shape or values; minicnn keeps every array C-contiguous (N, C, H, W), so the values,
  shapes and gradients a script sees are the same.
* ``mc.compile(model)``: PyTorch compiles the model's graph into fused kernels; minicnn
  runs eagerly, so that every line a learner steps into is the Python that runs. It returns
  ``model`` itself (PyTorch's ``backend="eager"`` behaves alike), and as a decorator the
  function itself.
* ``use_deterministic_algorithms``, ``set_float32_matmul_precision``: minicnn's CPU kernels
  are deterministic and its float32 products are float32 (no TF32), so the settings are
  recorded and readable back, and change nothing.
* ``finfo`` / ``iinfo``: NumPy's (``mc.finfo(mc.float32).eps``).
* ``mc.bfloat16`` names PyTorch's 16-bit brain float so that ``autocast(dtype=mc.bfloat16)``
  runs; NumPy has no such dtype, so making a tensor of it raises a ``TypeError`` saying so.
* ``set_printoptions(precision, threshold, edgeitems, linewidth, profile, sci_mode)``:
  how a Tensor prints (NumPy's ``array2string`` options under PyTorch's names).
* ``set_num_interop_threads``: minicnn has one pool of threads (``set_num_threads``); the
  inter-op setting is recorded only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["bfloat16", "memory_format", "channels_last", "channels_last_3d", "contiguous_format",
           "preserve_format", "compile", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "set_float32_matmul_precision",
           "get_float32_matmul_precision", "finfo", "iinfo", "set_num_interop_threads",
           "get_num_interop_threads", "set_printoptions"]


class _DtypeNumpyLacks:
    """A PyTorch dtype NumPy has no counterpart of (``mc.bfloat16``). ``np.dtype(it)`` (and so
    ``x.to(it)``, ``mc.zeros(2, dtype=it)``) raises a ``TypeError`` naming it."""

    def __init__(self, name: str, instead: str):
        self.name, self.instead = name, instead

    @property
    def dtype(self):
        raise TypeError(f"{self.name}: NumPy, which holds minicnn's arrays, has no "
                        f"{self.name}; use {self.instead}")

    def __repr__(self) -> str:
        return f"minicnn.{self.name}"


bfloat16 = _DtypeNumpyLacks("bfloat16", "mc.float16 (half) or mc.float32")


class memory_format:  # noqa: N801 - PyTorch's name
    """A PyTorch memory format (``mc.channels_last``): accepted wherever PyTorch takes
    ``memory_format=``; minicnn's arrays are always C-contiguous."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"minicnn.{self.name}"


channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable: bool = False):
    """``torch.compile``: returns ``model`` (a Module or a function) unchanged, because
    minicnn runs eagerly (see the module docstring); ``@mc.compile`` and
    ``@mc.compile(mode=...)`` work as decorators."""
    if model is None:
        return lambda function: function
    if not callable(model):
        raise TypeError(f"compile: model: expected a Module or a function, got "
                        f"{type(model).__name__}")
    return model


_settings = {"deterministic": False, "warn_only": False, "matmul_precision": "highest",
             "interop_threads": 1}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded (``are_deterministic_algorithms_enabled()`` reads it back); minicnn's CPU
    kernels give the same bits on every run of the same thread count either way."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: mode: expected True or False, got "
                        f"{mode!r}")
    _settings.update(deterministic=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    return _settings["deterministic"]


def set_float32_matmul_precision(precision: str) -> None:
    """'highest', 'high' or 'medium' (recorded; minicnn's float32 products are float32)."""
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: expected 'highest', 'high' or "
                         f"'medium', got {precision!r}")
    _settings["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _settings["matmul_precision"]


def finfo(type=None) -> np.finfo:  # noqa: A002 - PyTorch's argument
    """Limits of a floating dtype (float32 when None): ``.eps``, ``.max``, ``.min``,
    ``.tiny``."""
    return np.finfo(np.float32 if type is None else np.dtype(type))


def iinfo(type) -> np.iinfo:  # noqa: A002
    """Limits of an integer dtype: ``.max``, ``.min``, ``.bits``."""
    return np.iinfo(np.dtype(type))


def set_num_interop_threads(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_interop_threads: count must be a positive int, got "
                         f"{count!r}")
    _settings["interop_threads"] = count


def get_num_interop_threads() -> int:
    return _settings["interop_threads"]


_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """How Tensors print, as ``torch.set_printoptions``: ``precision`` digits,
    ``threshold`` elements before summarising with ``...``, ``edgeitems`` shown at each
    end, ``linewidth`` characters; ``profile`` 'default', 'short' or 'full' sets all four
    first; ``sci_mode=False`` never uses scientific notation (True: NumPy decides)."""
    from .autograd import PRINT_OPTIONS

    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile: expected 'default', 'short' or "
                             f"'full', got {profile!r}")
        options = dict(_PROFILES[profile])
        PRINT_OPTIONS.clear()
        PRINT_OPTIONS.update(precision=options["precision"], edgeitems=options["edgeitems"],
                             max_line_width=options["linewidth"],
                             threshold=_threshold(options["threshold"]))
    for name, value in (("precision", precision), ("edgeitems", edgeitems)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"set_printoptions: {name}: expected an int >= 0, got "
                                 f"{value!r}")
            PRINT_OPTIONS[name] = value
    if threshold is not None:
        PRINT_OPTIONS["threshold"] = _threshold(threshold)
    if linewidth is not None:
        PRINT_OPTIONS["max_line_width"] = int(linewidth)
    if sci_mode is not None:
        PRINT_OPTIONS["suppress_small"] = not sci_mode


def _threshold(value) -> int:
    import sys

    return sys.maxsize if value == float("inf") else int(value)
