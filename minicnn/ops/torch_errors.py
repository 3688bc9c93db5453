"""Exception classes for the errors PyTorch raises as ``RuntimeError`` where minicnn's
message names a wrong value or type.

PyTorch reports a bad shape, a repeated dim, an unknown mode string or an op on the wrong
dtype as ``RuntimeError`` (its C++ ``TORCH_CHECK``). Code ported from PyTorch catches
``RuntimeError``; code written for minicnn catches ``ValueError``/``TypeError``. These two
classes are both, so either ``except`` works:

* ``RuntimeValueError(RuntimeError, ValueError)``: a value PyTorch refuses at run time
  (``x.permute(0, 0)``, ``x.reshape(-1, -1)``, ``x.unfold(0, 9, 1)`` on 8 elements);
* ``NotImplementedValueError(NotImplementedError, ValueError)``: an unknown mode string
  where PyTorch raises ``NotImplementedError`` (``F.pad(x, p, mode="typo")``);
* ``RuntimeIndexError(RuntimeError, IndexError)``: an index out of range where PyTorch
  raises ``RuntimeError`` (``x.gather(0, index)`` with index >= size, ``x.narrow``);
* ``NotImplementedTypeError(NotImplementedError, TypeError)``: a dtype PyTorch has no
  kernel for (``bool_tensor // bool_tensor``);
* ``RuntimeTypeError(RuntimeError, TypeError)``: a dtype the op is not defined for
  (``float_tensor ^ float_tensor``).
"""
from __future__ import annotations


class RuntimeValueError(RuntimeError, ValueError):
    """PyTorch's ``RuntimeError`` for a value it refuses; also a ``ValueError``."""


class RuntimeTypeError(RuntimeError, TypeError):
    """PyTorch's ``RuntimeError`` for a dtype the op is not defined for; also a ``TypeError``."""


class NotImplementedValueError(NotImplementedError, ValueError):
    """PyTorch's ``NotImplementedError`` for an unknown mode; also a ``ValueError``."""


class RuntimeIndexError(RuntimeError, IndexError):
    """PyTorch's ``RuntimeError`` for an index out of range; also an ``IndexError``."""


class NotImplementedTypeError(NotImplementedError, TypeError):
    """PyTorch's ``NotImplementedError`` for a dtype without a kernel; also a ``TypeError``."""


class RuntimeZeroDivisionError(RuntimeError, ZeroDivisionError):
    """PyTorch's ``RuntimeError: ZeroDivisionError`` (``int_tensor // 0``); also a
    ``ZeroDivisionError``."""


class IndexValueError(IndexError, ValueError):
    """PyTorch's ``IndexError`` for a value out of range (``cross_entropy``'s "Target 3 is
    out of bounds"); also the ``ValueError`` minicnn raised before."""
