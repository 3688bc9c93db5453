"""``torch.backends`` switches that PyTorch scripts set, kept so they run unchanged.

``minicnn.backends.cudnn.benchmark = True`` (or ``deterministic``, ``enabled``) is
recorded and changes nothing: minicnn does not use cuDNN. Its own kernels are chosen by
``minicnn.registry`` (``minicnn info`` lists them) and are deterministic on the CPU.
"""
from types import SimpleNamespace

cudnn = SimpleNamespace(benchmark=False, deterministic=False, enabled=True,
                        allow_tf32=False, is_available=lambda: False)

__all__ = ["cudnn"]
