"""Export a model to ONNX, as ``torch.onnx.export`` does: by tracing one forward pass.

::

    import minicnn as mc
    import minicnn.onnx

    generator.eval()
    minicnn.onnx.export(generator, mc.randn(1, 100), "generator.onnx",
                        input_names=["z"], output_names=["images"],
                        dynamic_axes={"z": {0: "batch"}, "images": {0: "batch"}})

and then, anywhere ONNX runs (``pip install onnxruntime``)::

    import onnxruntime
    session = onnxruntime.InferenceSession("generator.onnx")
    images = session.run(None, {"z": z_array})[0]

How: the model runs once on ``args`` in eval mode, with the inputs requiring grad, so the
autograd engine records every ``Function`` it applies; each recorded Function becomes ONNX
nodes through its converter (``minicnn/onnx/converters.py``, one per Function), parameters
and buffers become initializers named by their ``state_dict`` keys. So any model built
from supported ops exports, not a list of known layers; an op with no converter raises
``UnsupportedOperatorError`` naming it. What a graph file keeps that a ``state_dict`` does
not: the computation itself (the layers, their order, strides, paddings, activations), so
the file runs without this package's source.

Limits of tracing (the same as torch.onnx's tracer): Python control flow is frozen at the
traced path, and random numbers drawn inside ``forward`` would be frozen into constants.

Needs the optional extra: ``pip install "minicnn[onnx]"`` (onnx, and onnxruntime to run it).
"""
from __future__ import annotations

from .export import DEFAULT_OPSET, export
from .graph import UnsupportedOperatorError

__all__ = ["export", "UnsupportedOperatorError", "DEFAULT_OPSET"]
