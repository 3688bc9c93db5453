"""The backward walk: ``Tensor.backward`` and ``minicnn.grad`` run it.

``_walk`` visits the functions reachable from the outputs in reverse topological order
(``_topological_order``: an explicit stack, so a 10,000-op chain is fine), calls each
function's ``backward`` with the gradient of its output, adds up the gradients that reach
each tensor (``_add_grad``) and undoes broadcasting in one place (``_sum_to_shape``).

In-place ops (``ops/inplace.py``) bump a tensor's version; a function whose saved input
or output was overwritten raises PyTorch's error at backward (``_modified_error``) unless
the in-place op kept a snapshot of what the function saw (``_resolve_inputs``).

``ZeroGradient`` is a gradient known to be zero: the walk skips the math for it.
"""
from __future__ import annotations

from .autograd import Function, Tensor, _as_gradient
from .backend import get_array_module
from . import grad_mode as _grad_mode
from .grad_mode import _GradMode

def _topological_order(roots: list[Tensor]) -> list[Function]:
    """Functions reachable from ``roots``, each after all functions that use its output.

    Iterative depth-first search: post-order gives producers before consumers; reversed,
    every function comes after the functions that consume its output.
    """
    order: list[Function] = []
    visited: set[int] = set()
    stack = [(t.creator, False) for t in roots if t.creator is not None]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        if getattr(fn, "_released", False):
            raise RuntimeError(
                "backward through a freed graph: the graph was freed by an earlier backward() "
                "or grad() call. Pass retain_graph=True to the first call if you need to walk "
                "the graph twice.")
        stack.append((fn, True))
        if _inplace_ops_done:
            _resolve_inputs(fn)
        for parent in fn.inputs:
            creator = parent.creator
            if creator is not None and id(creator) not in visited:
                stack.append((creator, False))
    order.reverse()
    return order


_inplace_ops_done = 0  # until the first in-place op on a tensor, no walk has to check versions


def _modified_error(fn, role: str, tensor: Tensor, expected: int) -> RuntimeError:
    return RuntimeError(
        f"one of the tensors needed for gradient computation has been modified by an in-place "
        f"operation: {role} (shape {tensor.shape}, dtype {tensor.dtype}) saved by "
        f"{type(fn).__name__} is at version {tensor._version_box[0]}; expected version "
        f"{expected} instead. (PyTorch raises the same error.) Modify a copy instead "
        f"(y = x.clone(); y.add_(1)), or use the out-of-place op (x = x + 1).")


def _resolve_inputs(fn: Function) -> None:
    """Replace each input that was modified in place after ``fn`` used it by the snapshot
    its in-place op kept of the value ``fn`` saw (so gradients take the path they had)."""
    versions = getattr(fn, "_input_versions", None)
    if versions is None:
        return
    resolved = list(fn.inputs)
    for position, (tensor, version) in enumerate(zip(fn.inputs, versions)):
        if tensor._version_box[0] != version:
            snapshot = tensor.__dict__.get("_snapshots", {}).get(version)
            snapshot = snapshot() if snapshot is not None else None
            if snapshot is not None:
                resolved[position] = snapshot
                versions[position] = snapshot._version_box[0]
    fn.inputs = tuple(resolved)


class _ModifiedInputs(tuple):
    """What ``fn.inputs`` is during a backward whose saved inputs were overwritten in place:
    reading them raises the version error (a backward that does not read them is fine)."""

    def __new__(cls, inputs, fn, position, expected):
        self = super().__new__(cls, inputs)
        self.fn, self.position, self.expected = fn, position, expected
        return self

    def _fail(self, *args):
        tensor = tuple.__getitem__(self, self.position)
        raise _modified_error(self.fn, f"its input {self.position}", tensor, self.expected)

    __getitem__ = __iter__ = _fail


def _run_backward(fn: Function, grad_output: Tensor):
    """``fn.backward(grad_output)``, raising if it reads an input modified in place."""
    if _inplace_ops_done:
        inputs = fn.inputs
        for position, (tensor, version) in enumerate(zip(inputs, fn._input_versions)):
            if tensor._version_box[0] != version:
                fn.inputs = _ModifiedInputs(inputs, fn, position, version)
                try:
                    return fn.backward(grad_output)
                finally:
                    fn.inputs = inputs
    return fn.backward(grad_output)


def _last_uses(order: list[Function]) -> dict[int, list[Tensor]]:
    """``{position in order: leaves whose last consumer is the function there}``: after
    that function's backward, those leaves have received their whole gradient."""
    last: dict[int, tuple] = {}
    for position, fn in enumerate(order):
        for tensor, needs in zip(fn.inputs, fn.needs_input_grad):
            if needs and tensor.creator is None:
                last[id(tensor)] = (position, tensor)
    done: dict[int, list[Tensor]] = {}
    for position, tensor in last.values():
        done.setdefault(position, []).append(tensor)
    return done


def _walk(roots, root_grads, retain_graph, create_graph, targets, on_leaf_done=None):
    """Propagate gradients from ``roots`` down the graph.

    Returns ``{id(tensor): (tensor, grad)}`` for the leaves that require grad (when
    ``targets`` is None) or for the tensors in ``targets``. With ``on_leaf_done`` (and no
    ``targets``), each leaf's gradient is instead handed to ``on_leaf_done(leaf, grad)``
    as soon as the walk is past the leaf's last consumer (``backward()`` accumulates it
    into ``.grad`` there and runs the leaf's post-accumulate-grad hooks).
    """
    grads: dict[int, list] = {}  # id(tensor) -> [tensor, gradient]; holds the tensor alive
    for root, grad in zip(roots, root_grads):
        _add_grad(grads, root, grad)
    wanted = None if targets is None else {id(t) for t in targets}
    results: dict[int, tuple] = {}
    order = _topological_order(roots)
    finished_after = _last_uses(order) if on_leaf_done is not None and wanted is None else {}
    with _GradMode(create_graph):
        for position, fn in enumerate(order):
            entry = grads.pop(id(fn._output_ref()), None)
            if entry is not None:
                output, grad_output = entry
                if _tensor_hooks_in_use:   # the output's gradient is complete here
                    grad_output = _hooked(output, grad_output, on_leaf_done is not None)
                if wanted is not None and id(output) in wanted:
                    results[id(output)] = (output, grad_output)
                if grad_output.__class__ is ZeroGradient:  # zero in, zero out: skip the math
                    for tensor, needs in zip(fn.inputs, fn.needs_input_grad):
                        if needs:
                            _add_grad(grads, tensor, zero_gradient(tensor))
                else:
                    input_grads = _run_backward(fn, grad_output)
                    if not isinstance(input_grads, tuple):
                        input_grads = (input_grads,)
                    if _grad_mode._anomaly_enabled and _grad_mode._anomaly_check_nan:
                        _check_for_nan(fn, input_grads)
                    for tensor, needs, grad in zip(fn.inputs, fn.needs_input_grad, input_grads):
                        if needs and grad is not None:
                            _add_grad(grads, tensor, _sum_to_shape(grad, tensor.shape))
            if not retain_graph:
                fn._release()
            for leaf in finished_after.get(position, ()):
                entry = grads.pop(id(leaf), None)
                if entry is not None:
                    on_leaf_done(entry[0], _hooked(*entry, True) if _tensor_hooks_in_use
                                 else entry[1])
    for key, (tensor, grad) in grads.items():
        if wanted is None or key in wanted:
            if _tensor_hooks_in_use:
                grad = _hooked(tensor, grad, on_leaf_done is not None)
            results[key] = (tensor, grad)
    if on_leaf_done is not None and wanted is None:
        for tensor, grad in results.values():
            if tensor.creator is None and tensor._requires_grad:
                on_leaf_done(tensor, grad)
        return {}
    return results


def _check_for_nan(fn: Function, input_grads: tuple) -> None:
    """``detect_anomaly()``: raise if ``fn``'s backward returned a NaN, naming the function
    and showing where its forward ran (PyTorch's message, then the forward's stack)."""
    for position, grad in enumerate(input_grads):
        if grad is None or grad.__class__ is ZeroGradient:
            continue
        xp = get_array_module(grad.array)
        if grad.array.dtype.kind in "fc" and bool(xp.isnan(grad.array).any()):
            stack = "".join(getattr(fn, "_forward_stack", ["  (not recorded: the forward ran "
                                                           "before anomaly detection was on)\n"]))
            raise RuntimeError(
                f"Function '{type(fn).__name__}' returned nan values in its {position}th "
                f"output (the gradient for its input {position}). Traceback of the forward "
                f"call that made it:\n{stack}")


_tensor_hooks_in_use = 0  # Tensor.register_hook / retain_grad calls so far: 0 skips the checks


def _hooked(tensor: Tensor, grad: Tensor, into_grad: bool) -> Tensor:
    """``tensor``'s complete gradient of this walk, after its ``register_hook`` hooks (each
    may return a replacement); a non-leaf that ``retain_grad()``-ed gets it added to its
    ``.grad`` when the walk is a ``backward()`` (``into_grad``)."""
    state = tensor.__dict__
    hooks = state.get("_grad_hooks")
    if hooks:
        for hook in list(hooks.values()):
            replaced = hook(_materialized(grad))
            if replaced is not None:
                if not isinstance(replaced, Tensor):
                    raise TypeError(f"hook {getattr(hook, '__name__', hook)!r}: expected it to "
                                    f"return None or a Tensor, but hook returned "
                                    f"{type(replaced).__name__!r}")
                if replaced.shape != grad.shape:
                    raise RuntimeError(
                        f"hook {getattr(hook, '__name__', hook)!r}: expected it to return None "
                        f"or a Tensor of the gradient's shape {grad.shape}, got "
                        f"{getattr(replaced, 'shape', type(replaced).__name__)}")
                grad = replaced
    if into_grad and state.get("_retains_grad") and tensor.creator is not None:
        value = _materialized(grad).detach()
        value = Tensor._wrap(value.array.copy())
        tensor.grad = value if tensor.grad is None else tensor.grad + value
    return grad


def _add_grad(grads: dict, tensor: Tensor, grad: Tensor) -> None:
    entry = grads.get(id(tensor))
    if entry is None:
        grads[id(tensor)] = [tensor, grad]
    elif entry[1].__class__ is ZeroGradient:
        entry[1] = grad
    elif grad.__class__ is not ZeroGradient:
        entry[1] = entry[1] + grad


class ZeroGradient(Tensor):
    """A gradient known to be zero everywhere, without its memory (a broadcast 0).

    ``ops.math.Connected`` hands one to the input that a piecewise-linear op's gradient
    depends on with derivative 0 (PyTorch's efficient zero tensors play this part). The
    walk runs no backward on it (the result would be zeros too): it passes zeros on to the
    function's inputs, and adding it to another gradient changes nothing. What reaches the
    caller (``grad()``, ``.grad``) is a plain zeros tensor (``_materialized``).
    """


def zero_gradient(like: Tensor) -> ZeroGradient:
    """The zero gradient of ``like`` (its shape and dtype)."""
    xp = get_array_module(like.array)
    return ZeroGradient(xp.broadcast_to(xp.zeros((), dtype=like.dtype), like.shape))


def _materialized(grad: Tensor) -> Tensor:
    if grad.__class__ is ZeroGradient:
        return Tensor._wrap(get_array_module(grad.array).zeros(grad.shape, dtype=grad.dtype))
    return grad


def _sum_to_shape(grad: Tensor, shape: tuple) -> Tensor:
    """Undo broadcasting: sum ``grad`` down to ``shape`` (the one place this happens)."""
    if grad.shape == shape:
        return grad
    from .ops.shape import sum_to  # ops build on this module, so import late

    return sum_to(grad, shape)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs``, without touching any ``.grad``.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that require grad (leaves or not).
        grad_outputs: dL/d(output) for each output (default ones, scalar outputs only).
        retain_graph: keep the graph for another walk (default: ``create_graph``).
        create_graph: record the backward pass, so the result can be differentiated again.
        only_inputs: accepted for old scripts and ignored, as PyTorch does (it warns when
            it is False: gradients never reach other tensors' ``.grad``).
        allow_unused: return None for an input the outputs do not depend on (else an error).

    Returns:
        a tuple with one gradient (Tensor or None) per input.
    """
    if not only_inputs:
        import warnings

        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please use "
                      "backward().", UserWarning, stacklevel=2)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if not inputs:
        raise RuntimeError("grad(): `inputs` argument to `grad()` cannot be empty (as PyTorch)")
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise RuntimeError(f"grad(): inputs[{position}] does not require grad; "
                               "call .requires_grad_() on it before building the graph")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    root_grads = []
    for position, (output, given) in enumerate(zip(outputs, grad_outputs)):
        if not output.requires_grad:
            raise RuntimeError(f"grad(): outputs[{position}] does not require grad "
                               "(it does not depend on any tensor with requires_grad=True)")
        root_grads.append(_as_gradient(
            given, output, f"grad_outputs[{position}]",
            missing=f"grad(): grad_outputs[{position}] is needed for a non-scalar output of "
                    f"shape {output.shape}"))
    retain = create_graph if retain_graph is None else retain_graph
    found = _walk(outputs, root_grads, retain, create_graph, targets=inputs)
    results = []
    for position, tensor in enumerate(inputs):
        entry = found.get(id(tensor))
        if entry is None:
            if not allow_unused:
                raise RuntimeError(f"grad(): inputs[{position}] was not used to compute the "
                                   "outputs; pass allow_unused=True to get None for it")
            results.append(None)
        else:
            g = _materialized(entry[1])
            results.append(g if create_graph else g.detach())
    return tuple(results)
