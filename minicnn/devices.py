"""``mc.device``: where a tensor's array lives, shaped as ``torch.device``.

A device *is* its name (a ``str`` subclass: ``mc.device('cpu') == 'cpu'``), so everything in
minicnn that takes 'cpu' or 'cuda' takes a device too, and PyTorch code keeps working::

    device = mc.device("cuda" if mc.cuda.is_available() else "cpu")
    model.to(device); x = mc.randn(2, 3, device=device)
    x.device.type          # 'cpu'

``Tensor.device`` returns one of these (one shared object per name).
"""
from __future__ import annotations


class device(str):  # noqa: N801 - PyTorch's name
    """``device('cpu')``, ``device('cuda')``, ``device('cuda:0')``, ``device('cuda', 0)``.

    Attributes: ``type`` ('cpu' or 'cuda') and ``index`` (None, or the GPU number).
    """

    def __new__(cls, type, index: int | None = None):  # noqa: A002 - PyTorch's argument
        if isinstance(type, device) and index is None:
            return type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got "
                            f"{type.__class__.__name__}")
        name, _, number = type.partition(":")
        if number:
            if index is not None:
                raise ValueError(f"device: type {type!r} already has an index; got index={index}")
            if not number.isdigit():
                raise ValueError(f"device: expected 'cuda:N' with a number N, got {type!r}")
            index = int(number)
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device: expected type 'cpu' or 'cuda', got {name!r} (minicnn "
                             "runs on NumPy or CuPy only; PyTorch's 'mps', 'xpu' ... have no "
                             "counterpart here)")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"device: index: expected a non-negative int, got {index!r}")
        if name == "cpu" and index not in (None, 0):
            raise ValueError(f"device: the CPU has index 0 only, got {index}")
        self = super().__new__(cls, name if index is None or name == "cpu" else f"{name}:{index}")
        self.type, self.index = name, index
        return self

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU, CUDA = device("cpu"), device("cuda")
BY_NAME = {"cpu": CPU, "cuda": CUDA}  # what Tensor.device returns
