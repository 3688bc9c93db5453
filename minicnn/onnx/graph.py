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
relu or abs, ``Where``, training-mode batch norm) with an error naming them. And the model
is traced twice on the same inputs: a constant that differs between the two traces is a
random draw inside ``forward`` (StyleGAN's fresh noise), which a graph would freeze, so
``same_constants`` refuses it, naming the Function that consumed it.
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
        self.batch_input: str | None = None  # a graph input whose axis 0 is dynamic
        self.batch_size: int | None = None   # ... and its size in the trace

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

    def batch_dimension(self) -> str:
        """A 1-element int64 tensor holding the run-time batch size (axis 0 of the
        dynamic input), for shapes that must follow it."""
        shape = self.node("Shape", [self.batch_input])
        return self.node("Slice", [shape, self.int64s([0], "starts"), self.int64s([1], "ends")])

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


def same_constants(first: list[Function], second: list[Function], state_names: dict) -> None:
    """Raise unless two traces of the same inputs applied the same Functions to the same
    constants (see the module docstring)."""
    if [type(f) for f in first] != [type(f) for f in second]:
        raise UnsupportedOperatorError(
            "minicnn.onnx.export: two forward passes on the same inputs applied different "
            "ops (control flow that depends on something other than the inputs' shapes)")
    for a, b in zip(first, second):
        for x, y in zip(a.inputs, b.inputs):
            if (x.creator is None and id(x) not in state_names and x.shape == y.shape
                    and not np.array_equal(x.numpy(), y.numpy(), equal_nan=True)):
                raise UnsupportedOperatorError(
                    f"minicnn.onnx.export: an input of {type(a).__name__} changed between two "
                    "forward passes on the same inputs: the model draws random numbers (or "
                    "keeps changing state) inside forward, and a graph would freeze one draw. "
                    "Make it deterministic for export (e.g. StyleGenerator."
                    "set_noise_mode('const'))")


def inputs_stay_in_the_graph(first: list[Function], moved: list[Function], state_names: dict,
                             inputs: tuple, moved_inputs: tuple, outputs: tuple,
                             moved_outputs: tuple) -> None:
    """Raise unless a trace on inputs of other values (same shapes) applied the same ops to
    the same constants and gave the same constant outputs: a constant that changed was
    computed from the inputs outside minicnn's ops (``.numpy()``, ``.item()``,
    ``mc.tensor(x.tolist())``), and the exported graph would return the traced value
    whatever its input (silently wrong), as would a branch taken on the inputs' values."""
    if [type(f) for f in first] != [type(f) for f in moved]:
        raise UnsupportedOperatorError(
            "minicnn.onnx.export: forward passes on inputs of other values applied different "
            "ops (control flow on the inputs' values, e.g. 'if x.sum() > 0'); a graph would "
            "freeze the branch of the example inputs")
    graph_inputs = {id(t) for t in inputs} | {id(t) for t in moved_inputs}

    def constant(x) -> bool:
        return x.creator is None and id(x) not in state_names and id(x) not in graph_inputs

    def differ(x, y) -> bool:
        return x.shape != y.shape or not np.array_equal(x.numpy(), y.numpy(), equal_nan=True)

    for a, b in zip(first, moved):
        for x, y in zip(a.inputs, b.inputs):
            if constant(x) and differ(x, y):
                raise UnsupportedOperatorError(
                    f"minicnn.onnx.export: an input of {type(a).__name__} is computed from the "
                    "model's inputs outside minicnn's ops (.numpy(), .item(), .tolist() or "
                    "mc.tensor(...) inside forward); the graph would hold the example's value "
                    "as a constant")
    for k, (x, y) in enumerate(zip(outputs, moved_outputs)):
        if constant(x) and differ(x, y):
            raise UnsupportedOperatorError(
                f"minicnn.onnx.export: output {k} is computed from the inputs outside "
                "minicnn's ops (.numpy(), .item(), .detach() or mc.tensor(...) inside "
                "forward); the exported model would return the example's output whatever "
                "its input")


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
