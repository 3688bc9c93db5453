r"""Whole derivatives of a function, as ``torch.autograd.functional``: ``jacobian``,
``hessian``, ``vjp``, ``jvp``, ``vhp``, ``hvp`` (reachable as ``mc.autograd.functional``).

Everything here is built on ``minicnn.grad`` (reverse mode), which is what makes it worth
reading: each result is a few backward walks.

* ``vjp(f, x, v)`` = ``v^T J``: one backward walk with ``grad_outputs = v``.
* ``jacobian(f, x)``: one vjp per output element, with ``v`` a one-hot vector; row ``i`` of
  ``J`` is ``e_i^T J``. Shape: ``output.shape + input.shape``.
* ``jvp(f, x, v)`` = ``J v``, reverse mode twice ("the double-vjp trick"): ``g(u) = u^T J``
  is linear in a dummy ``u``, so the gradient of ``g(u) . v`` with respect to ``u`` is
  ``J v``. It needs the backward to be differentiable, which every minicnn op is.
* ``hessian(f, x)`` (``f`` returns one number) = the jacobian of ``x -> grad f(x)``.
* ``vhp(f, x, v)`` = ``v^T H``: the gradient of ``grad f(x) . v``; ``hvp`` = ``H v``, the
  same numbers since ``H`` is symmetric for a twice-differentiable ``f``.

As in PyTorch, ``inputs`` is a Tensor or a tuple of them (results follow the same
structure), the inputs are differentiated at their current values (they need not require
grad: each call works on detached copies), and ``create_graph=True`` keeps the results in
the graph, for a derivative of a derivative. ``strict=True`` raises when an output does not
depend on an input (else that block is zeros).
"""
from __future__ import annotations

from .autograd import Tensor, enable_grad, grad
from .ops import zeros_like

__all__ = ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"]


def _as_tuple(value, what: str) -> tuple[tuple, bool]:
    """``(tuple of Tensors, was it a single Tensor)``, checking the types."""
    single = isinstance(value, Tensor)
    values = (value,) if single else tuple(value)
    for position, item in enumerate(values):
        if not isinstance(item, Tensor):
            raise TypeError(f"{what}[{position}]: expected a Tensor, got {type(item).__name__}")
    return values, single


def _prepared(inputs, create_graph: bool) -> tuple[tuple, bool]:
    """The inputs as fresh leaves that require grad (graph-connected when create_graph)."""
    values, single = _as_tuple(inputs, "inputs")
    prepared = tuple(x.view_as(x) if create_graph and x.requires_grad   # stays in x's graph
                     else x.detach().requires_grad_(True) for x in values)
    return prepared, single


def _grads(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, what: str):
    """``grad`` with unused inputs as zeros (or an error under ``strict``)."""
    results = grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph,
                   allow_unused=True)
    out = []
    for position, (g, x) in enumerate(zip(results, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{what}: the output is independent of input {position} "
                                   "(strict=True)")
            g = zeros_like(x)
        out.append(g if create_graph else g.detach())
    return tuple(out)


def _call(func, inputs: tuple, what: str) -> tuple[tuple, bool]:
    with enable_grad():
        outputs = func(*inputs)
    return _as_tuple(outputs, f"{what}: the function's outputs")


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``; ``v`` may be None only when the output has one element."""
    inputs, single_in = _prepared(inputs, create_graph)
    outputs, single_out = _call(func, inputs, "vjp")
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("vjp: v can be None only when the function returns a single "
                               "element; give v with the output's shape")
        vs = None
    else:
        vs, _ = _as_tuple(v, "v")
        for position, (vi, oi) in enumerate(zip(vs, outputs)):
            if vi.shape != oi.shape:
                raise RuntimeError(f"vjp: v[{position}] has shape {vi.shape}, the output has "
                                   f"{oi.shape}")
    result = _grads(outputs, inputs, vs, create_graph, strict, "vjp")
    outputs = tuple(o if create_graph else o.detach() for o in outputs)
    return (outputs[0] if single_out else outputs), (result[0] if single_in else result)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)`` by the double-vjp trick (see the module docstring)."""
    inputs, single_in = _prepared(inputs, create_graph)
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("jvp: v can be None only when the input has one element")
        vs = (inputs[0].detach() * 0 + 1,)
    else:
        vs, _ = _as_tuple(v, "v")
    outputs, single_out = _call(func, inputs, "jvp")
    dummies = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
    with enable_grad():
        vector_jacobian = _grads(outputs, inputs, dummies, True, strict, "jvp")
        result = _grads(vector_jacobian, dummies, vs, create_graph, strict, "jvp")
    outputs = tuple(o if create_graph else o.detach() for o in outputs)
    return (outputs[0] if single_out else outputs), (result[0] if single_out else result)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output ``i`` and input ``j`` a Tensor of
    shape ``output_i.shape + input_j.shape``; nested as ``inputs`` / the outputs are."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy: expected 'reverse-mode' or 'forward-mode', got "
                         f"{strategy!r}")
    inputs, single_in = _prepared(inputs, create_graph)
    outputs, single_out = _call(func, inputs, "jacobian")
    blocks = []
    for output in outputs:
        rows = [[] for _ in inputs]
        flat = output.reshape(-1)
        for i in range(flat.shape[0]):
            for j, g in enumerate(_grads(flat[i], inputs, None, create_graph, strict,
                                         "jacobian")):
                rows[j].append(g)
        blocks.append(tuple(_stack_rows(row, output, x) for row, x in zip(rows, inputs)))
    if single_out:
        return blocks[0][0] if single_in else blocks[0]
    return tuple(block[0] for block in blocks) if single_in else tuple(blocks)


def _stack_rows(rows: list, output: Tensor, x: Tensor) -> Tensor:
    from .ops import stack

    if not rows:   # an empty output: an empty Jacobian of the right shape
        return zeros_like(x).reshape(-1)[:0].reshape(*output.shape, *x.shape)
    return stack(rows).reshape(*output.shape, *x.shape)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a function returning one number: ``H[i][j]`` of shape
    ``input_i.shape + input_j.shape`` (a single Tensor for a single input)."""
    inputs, single_in = _prepared(inputs, create_graph)

    def gradient(*xs):
        outputs, _ = _call(func, xs, "hessian")
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("hessian: the function must return a single-element Tensor, "
                               f"got shape {outputs[0].shape if outputs else ()}")
        return _grads(outputs, xs, None, True, strict, "hessian")

    result = jacobian(gradient, inputs, create_graph, strict)   # ((H_00, H_01 ...), ...)
    return result[0][0] if single_in else result


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a function returning one number."""
    inputs, single_in = _prepared(inputs, create_graph)
    outputs, _ = _call(func, inputs, "vhp")
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError("vhp: the function must return a single-element Tensor")
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("vhp: v can be None only when the input has one element")
        vs = (inputs[0].detach() * 0 + 1,)
    else:
        vs, _ = _as_tuple(v, "v")
    with enable_grad():
        gradients = _grads(outputs, inputs, None, True, strict, "vhp")
        result = _grads(gradients, inputs, vs, create_graph, strict, "vhp")
    output = outputs[0] if create_graph else outputs[0].detach()
    return output, (result[0] if single_in else result)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: the same numbers as ``vhp`` (H is symmetric)."""
    return vhp(func, inputs, v, create_graph, strict)
