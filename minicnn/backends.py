"""``torch.backends`` switches that PyTorch scripts set, kept so they run unchanged.

``minicnn.backends.cudnn.benchmark = True`` (or ``deterministic``, ``enabled``,
``allow_tf32``) and ``backends.cuda.matmul.allow_tf32`` are recorded and change nothing:
minicnn does not use cuDNN, and its float32 products are float32. Its own kernels are
chosen by ``minicnn.registry`` (``minicnn info`` lists them) and are deterministic on the
CPU. ``backends.mps.is_available()`` is False: minicnn runs on NumPy (CPU) or CuPy (CUDA)
only, so the usual ``"cuda" if ... else "mps" if ... else "cpu"`` picks a device minicnn has.
"""
from types import SimpleNamespace

cudnn = SimpleNamespace(benchmark=False, deterministic=False, enabled=True,
                        allow_tf32=False, is_available=lambda: False)
cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False,
                                              allow_fp16_reduced_precision_reduction=False),
                       is_built=lambda: False)
mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)

__all__ = ["cudnn", "cuda", "mps"]
