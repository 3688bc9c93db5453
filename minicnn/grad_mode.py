"""Grad mode: whether ops record the graph (``no_grad``, ``enable_grad``,
``set_grad_enabled``, ``is_grad_enabled``).

``Function.apply`` reads ``_enabled`` before it records an op; the backward walk sets it
to ``create_graph`` while it runs the backward functions, so a backward pass is itself a
graph only when asked.
"""
from __future__ import annotations

import contextlib

_enabled = True
# Anomaly detection (``minicnn.autograd.detect_anomaly``, anomaly.py): when on, each
# recorded Function keeps the stack of its forward call and the backward walk checks every
# gradient it computes for NaN.
_anomaly_enabled = False
_anomaly_check_nan = True


def is_grad_enabled() -> bool:
    return _enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager (and decorator) that sets whether ops record the graph."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        global _enabled
        self.previous = _enabled
        _enabled = self.enabled

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.previous
        return False


def no_grad():
    """``with mc.no_grad():`` runs ops without building a graph (evaluation, updates)."""
    return _GradMode(False)


def enable_grad():
    """``with mc.enable_grad():`` turns graph building back on inside a ``no_grad`` block."""
    return _GradMode(True)


def set_grad_enabled(enabled: bool):
    return _GradMode(bool(enabled))
