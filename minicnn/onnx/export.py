"""``minicnn.onnx.export(model, args, f, ...)``: trace, convert, check and write."""
from __future__ import annotations

import os

import numpy as np

from ..autograd import Tensor, enable_grad
from .graph import (GraphBuilder, convert_functions, inputs_stay_in_the_graph,
                    recorded_functions, same_constants)

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = range(13, 21)


def _import_onnx():
    try:
        import onnx
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError('minicnn.onnx needs the onnx package: pip install '
                                  '"minicnn[onnx]" (onnx, onnxruntime)') from error
    return onnx


def _flatten(value) -> list:
    """Nested tuples and lists of outputs (an LSTM's ``output, (h, c)``) in order, as
    ``torch.onnx.export`` flattens them."""
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def _as_tuple(value, name: str) -> tuple:
    value = _flatten(value) if name.startswith("outputs") else (
        value if isinstance(value, (tuple, list)) else (value,))
    for k, item in enumerate(value):
        if not isinstance(item, Tensor):
            raise TypeError(f"minicnn.onnx.export: {name}[{k}]: expected a Tensor, got "
                            f"{type(item).__name__}")
    return tuple(value)


def _names(given, count: int, prefix: str, what: str) -> list[str]:
    if given is None:
        return [f"{prefix}{k}" for k in range(count)] if count > 1 else [prefix.rstrip("_")]
    given = list(given)
    for name in given:
        if not isinstance(name, str) or not name:
            raise TypeError(f"minicnn.onnx.export: {what}: expected non-empty strings, got "
                            f"{name!r} in {given!r}")
    if len(given) != count or len(set(given)) != count:
        raise ValueError(f"minicnn.onnx.export: {what}: expected {count} distinct names, got "
                         f"{given!r}")
    return given


def _dynamic_dims(dynamic_axes, name: str) -> dict[int, str]:
    axes = (dynamic_axes or {}).get(name, {})
    if isinstance(axes, (list, tuple)):
        return {int(a): f"{name}_dynamic_axes_{a}" for a in axes}
    return {int(a): str(label) for a, label in axes.items()}


def _check_dynamic_axes(dynamic_axes, tensors: dict) -> None:
    """Every name of ``dynamic_axes`` is an input or output, every axis one it has (a typo
    would otherwise leave the axis fixed, and the model refuse other batch sizes)."""
    if dynamic_axes is None:
        return
    if not isinstance(dynamic_axes, dict):
        raise TypeError(f"minicnn.onnx.export: dynamic_axes: expected a dict of name -> axes, "
                        f"got {type(dynamic_axes).__name__}")
    for name, axes in dynamic_axes.items():
        if name not in tensors:
            raise ValueError(f"minicnn.onnx.export: dynamic_axes: {name!r} is not an input or "
                             f"output name (they are {sorted(tensors)})")
        if not isinstance(axes, (list, tuple, dict)):
            raise TypeError(f"minicnn.onnx.export: dynamic_axes[{name!r}]: expected a list of "
                            f"axes or a dict axis -> label, got {type(axes).__name__}")
        ndim = tensors[name].ndim
        for axis in axes:
            if isinstance(axis, bool) or not isinstance(axis, int) or not 0 <= axis < ndim:
                raise ValueError(f"minicnn.onnx.export: dynamic_axes[{name!r}]: axis {axis!r} "
                                 f"is not one of the {ndim} axes of {name!r} (shape "
                                 f"{tuple(tensors[name].shape)})")


def _value_info(onnx, name: str, tensor: Tensor, dynamic: dict[int, str]):
    dims = [dynamic.get(axis, size) for axis, size in enumerate(tensor.shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(tensor.dtype))
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def export(model, args, f, export_params: bool = True, verbose: bool = False,
           input_names=None, output_names=None, opset_version: int | None = None,
           dynamic_axes=None, do_constant_folding: bool = True, check: bool = True):
    """Trace ``model(*args)`` and write it as an ONNX model to ``f``.

    Args:
        model: a ``minicnn.nn.Module`` (run in eval mode for the trace, then restored) or
            any callable of Tensors.
        args: a Tensor or a tuple of Tensors: example inputs (their shapes and dtypes go
            into the file; axes named in ``dynamic_axes`` may change).
        f: a path, or a binary file object.
        input_names, output_names: the graph's input and output names (default ``input``,
            ``output``; ``input_0``, ``input_1`` ... when there are several).
        dynamic_axes: ``{name: {axis: label}}`` or ``{name: [axis, ...]}``: axes that may
            change size at run time (the batch axis, usually).
        opset_version: the ONNX operator set (13-20; default 17).
        export_params: must be True (the weights are always stored in the file).
        do_constant_folding, verbose: accepted for torch.onnx's signature; constants made
            from buffers are always folded.
        check: run ``onnx.checker.check_model`` on the result.

    Returns:
        the ``onnx.ModelProto`` that was written.
    """
    if not isinstance(f, (str, bytes, os.PathLike)) and not callable(getattr(f, "write", None)):
        raise TypeError(f"minicnn.onnx.export: f: expected a file name or a binary file "
                        f"object, got {type(f).__name__}")
    onnx = _import_onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset not in SUPPORTED_OPSETS:
        raise ValueError(f"minicnn.onnx.export: opset_version: expected "
                         f"{SUPPORTED_OPSETS.start}-{SUPPORTED_OPSETS.stop - 1}, got {opset}")
    if not export_params:
        raise ValueError("minicnn.onnx.export: export_params=False is not supported: the "
                         "weights are always stored in the file")
    args = _as_tuple(args, "args")
    traced = []
    for k, arg in enumerate(args):
        if arg.dtype.kind != "f":
            raise TypeError(f"minicnn.onnx.export: args[{k}]: expected a floating-point "
                            f"tensor, got dtype {arg.dtype}")
        traced.append(Tensor._wrap(arg.array, requires_grad=True))
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    # other values, same shapes: what they change must flow through the graph
    moved_inputs = tuple(Tensor._wrap((t.array * 1.5 + 0.25).astype(t.dtype),
                                      requires_grad=True) for t in traced)
    try:
        with enable_grad():
            outputs = _as_tuple(model(*traced), "outputs of the model")
            again = _as_tuple(model(*traced), "outputs of the model")
            try:
                moved = _as_tuple(model(*moved_inputs), "outputs of the model")
            except Exception:  # noqa: BLE001 -- a model that refuses such values: not checked
                moved = None
    finally:
        if was_training:
            model.train(True)

    input_names = _names(input_names, len(traced), "input_", "input_names")
    output_names = _names(output_names, len(outputs), "output_", "output_names")
    _check_dynamic_axes(dynamic_axes, {**dict(zip(input_names, traced)),
                                       **dict(zip(output_names, outputs))})
    builder = GraphBuilder(onnx, opset)
    for name in input_names + output_names:
        builder.fresh(name)
    names = {id(t): name for t, name in zip(traced, input_names)}
    for tensor, name in zip(traced, input_names):
        if 0 in _dynamic_dims(dynamic_axes, name) and tensor.ndim > 0:
            builder.batch_input, builder.batch_size = name, tensor.shape[0]
            break
    state_names = {}
    if hasattr(model, "state_dict"):
        state_names = {id(t): key for key, t in model.state_dict(keep_vars=True).items()}

    from .converters import CONVERTERS
    functions = recorded_functions(list(outputs))
    same_constants(functions, recorded_functions(list(again)), state_names)
    if moved is not None and len(moved) == len(outputs):
        inputs_stay_in_the_graph(functions, recorded_functions(list(moved)), state_names,
                                 tuple(traced), moved_inputs, outputs, moved)
    convert_functions(builder, functions, names, state_names, CONVERTERS)
    for tensor, name in zip(outputs, output_names):
        if id(tensor) not in names:  # an output that is a constant of the model
            names[id(tensor)] = builder.constant(tensor.numpy())
        builder.nodes.append(onnx.helper.make_node("Identity", [names[id(tensor)]], [name],
                                                   name=builder.fresh("output_node")))
    graph = onnx.helper.make_graph(
        builder.nodes, type(model).__name__,
        [_value_info(onnx, n, t, _dynamic_dims(dynamic_axes, n))
         for n, t in zip(input_names, traced)],
        [_value_info(onnx, n, t, _dynamic_dims(dynamic_axes, n))
         for n, t in zip(output_names, outputs)],
        initializer=builder.initializers)
    model_proto = onnx.helper.make_model(
        graph, producer_name="minicnn", opset_imports=[onnx.helper.make_opsetid("", opset)])
    model_proto.ir_version = min(model_proto.ir_version, 8 if opset <= 17 else 9)
    if check:
        onnx.checker.check_model(model_proto)
    data = model_proto.SerializeToString()
    if isinstance(f, (str, bytes, os.PathLike)):   # atomically: never a half-written model
        from ..atomic_write import write_atomically

        write_atomically(f, lambda stream: stream.write(data), "onnx.export")
    else:
        f.write(data)
    return model_proto
