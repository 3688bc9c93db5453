"""Anomaly detection, as ``torch.autograd.detect_anomaly``: find the op whose backward made
the first NaN.

A NaN in a loss or a weight is usually born in one backward function (``sqrt`` at 0, ``log``
of 0, 0/0 in a normalisation) and then spreads everywhere. Inside ``detect_anomaly()``:

* every op recorded in the graph keeps the stack of the Python line that called it;
* the backward walk checks each gradient a function returns, and the first one holding a
  NaN raises ``RuntimeError: Function 'Sqrt' returned nan values in its 0th output ...``,
  followed by the stack of that op's forward call: the line of your code to look at.

It slows every op down (a stack is formatted per op), so it is for debugging::

    with mc.autograd.detect_anomaly():
        loss = model(x).sum()
        loss.backward()

``set_detect_anomaly(True)`` switches it on until switched off (also a context manager).
"""
from __future__ import annotations

import contextlib
import warnings

from . import grad_mode as _grad_mode

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]


class set_detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off (``check_nan``: also check gradients for NaN); as a
    context manager, the previous setting comes back at its end."""

    def __init__(self, mode: bool, check_nan: bool = True):
        if not isinstance(mode, bool):
            raise TypeError(f"set_detect_anomaly: mode: expected True or False, got {mode!r}")
        self.previous = (_grad_mode._anomaly_enabled, _grad_mode._anomaly_check_nan)
        _grad_mode._anomaly_enabled, _grad_mode._anomaly_check_nan = mode, bool(check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> bool:
        _grad_mode._anomaly_enabled, _grad_mode._anomaly_check_nan = self.previous
        return False


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Anomaly detection inside a ``with`` block or a decorated function (see above)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = bool(check_nan)

    def __enter__(self):
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the "
                      "runtime and should only be enabled for debugging.", UserWarning,
                      stacklevel=2)
        self.previous = (_grad_mode._anomaly_enabled, _grad_mode._anomaly_check_nan)
        _grad_mode._anomaly_enabled, _grad_mode._anomaly_check_nan = True, self.check_nan
        return self

    def __exit__(self, *exc_info) -> bool:
        _grad_mode._anomaly_enabled, _grad_mode._anomaly_check_nan = self.previous
        return False


def is_anomaly_enabled() -> bool:
    return _grad_mode._anomaly_enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _grad_mode._anomaly_check_nan
