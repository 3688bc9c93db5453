"""Turn one recorded forward pass into ONNX nodes: tracing, names and initializers.

Tracing works on the graph the autograd engine records anyway. The exporter runs the model
once on inputs that require grad, so every ``Function`` the forward applies is recorded
with its input tensors and the keywords it was called with (``fn.keywords``). Walking
those Functions from the inputs to the outputs, each is handed to the converter registered
for its class (``converters.py``), which appends one or a few ONNX nodes.

Tensors get names in three ways:

* the traced inputs: the graph's inputs (``input_names``);
* leaves that are the model's parameters or buffers: initializers named by their
  ``state_dict`` key (``0.weight``, ``3.running_mean`` ...), as torch.onnx names them;
* any other leaf (a constant made during forward: an interpolation matrix, a reshaped
  running variance, a scalar of ``x * 0.5``): an anonymous initializer.

What tracing cannot see is control flow and data-dependent constants: a Python ``if`` on a
tensor's value, or a mask computed from this input's values, would be frozen into the graph.
Converters refuse the Functions known to carry such constants (a ``MaskMul`` that is not a
relu or abs, ``Where``, training-mode batch norm) with an error naming them.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor, _topological_order


class UnsupportedOperatorError(RuntimeError):
    """A Function in the traced graph has no ONNX converter (or cannot be exported)."""


class GraphBuilder:
    """Collects nodes and initializers, and hands out unique tensor names."""

    def __init__(self, onnx_module, opset: int):
        self.onnx, self.helper, self.opset = onnx_module, onnx_module.helper, opset
        self.nodes: list = []
        self.initializers: list = []
        self._used: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A name not used yet, starting with ``hint``."""
        name, k = hint, 0
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    def constant(self, array, hint: str = "const") -> str:
        """Add ``array`` as an initializer; return its name."""
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def int64s(self, values, hint: str = "ints") -> str:
        """A 1-D int64 constant (shapes, axes, pads)."""
        return self.constant(np.asarray(list(values), dtype=np.int64), hint)

    def node(self, op_type: str, inputs: list[str], hint: str | None = None, **attributes) -> str:
        """Append one node with one output; return the output's name."""
        output = self.fresh(hint or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [output],
                                                name=self.fresh(f"{op_type}_node"),
                                                **attributes))
        return output


def recorded_functions(outputs: list[Tensor]) -> list[Function]:
    """The Functions that made ``outputs``, producers before consumers."""
    return list(reversed(_topological_order(outputs)))


def name_leaf(builder: GraphBuilder, tensor: Tensor, names: dict, state_names: dict) -> str:
    """Name a leaf tensor: a parameter/buffer initializer (by its state_dict key) or an
    anonymous constant."""
    key = id(tensor)
    if key not in names:
        if key in state_names:
            names[key] = builder.constant(tensor.numpy(), state_names[key])
        else:
            names[key] = builder.constant(tensor.numpy())
    return names[key]


def convert_functions(builder: GraphBuilder, functions: list[Function], names: dict,
                      state_names: dict, converters: dict) -> None:
    """Append the nodes of every Function, in order, recording each output's name."""
    for fn in functions:
        converter = converters.get(type(fn))
        if converter is None:
            raise UnsupportedOperatorError(
                f"minicnn.onnx.export: no ONNX converter for {type(fn).__name__} (from "
                f"{type(fn).__module__}); the model uses an op that cannot be exported yet")
        inputs = [names[id(t)] if id(t) in names else name_leaf(builder, t, names, state_names)
                  for t in fn.inputs]
        names[id(fn.output)] = converter(builder, fn, inputs)
