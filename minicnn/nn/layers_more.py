"""(being written)"""
from __future__ import annotations

__all__: list = []          # names exported as minicnn.nn.<name>
