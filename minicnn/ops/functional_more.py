"""(being written)"""
from __future__ import annotations

__all__: list = []          # names exported as minicnn.<name>


def methods() -> dict:
    """{Tensor method name: function}, bound to Tensor by minicnn/ops/__init__.py."""
    return {}
