"""``mc.cuda``: is a CUDA GPU usable from minicnn (through CuPy)?"""
from .backend import cuda_is_available


def is_available() -> bool:
    """True when CuPy imports and sees a CUDA device. Never raises."""
    return cuda_is_available()
