"""Check an op's gradients against finite differences: ``gradcheck`` and ``gradgradcheck``.

The idea (Chainer's and PyTorch's): pick a random output weighting ``v`` and compare the
backward pass's vector-Jacobian product with central differences of the scalar
``s(x) = sum(v * f(x))``::

    numeric_i = (s(x + eps e_i) - s(x - eps e_i)) / (2 eps)      analytic_i = (v^T J)_i

Small inputs are checked element by element (``e_i`` = one coordinate); large inputs
along a few random directions ``d`` (``numeric = (s(x + eps d) - s(x - eps d)) / 2 eps``
against ``analytic . d``). A pair agrees when ``|analytic - numeric| <= atol + rtol |numeric|``.
Use float64 inputs: in float32, rounding error swamps the differences.

``gradgradcheck`` runs the same check on the function ``(x, v) -> v^T J(x)`` built with
``create_graph=True``: that checks second derivatives.
"""
from __future__ import annotations

import numpy as np

from .autograd import Tensor, grad


class GradcheckError(AssertionError):
    """Raised with a readable report when analytic and numeric gradients disagree."""


def _as_outputs(result) -> tuple:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _is_float(t) -> bool:
    return isinstance(t, Tensor) and t.dtype.kind == "f"


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, *,
              max_elements: int = 300, directions: int = 4, seed: int = 0,
              raise_exception: bool = True) -> bool:
    """Compare ``fn``'s backward with central differences for every input that requires grad.

    Args:
        fn: called as ``fn(*inputs)``; returns a Tensor or a tuple of Tensors.
        inputs: Tensors (float64 where gradients are checked) and other arguments.
        eps: finite-difference step.
        atol, rtol: tolerance, ``|analytic - numeric| <= atol + rtol * |numeric|``.
        max_elements: inputs with more elements are checked along ``directions`` random
            directions instead of element by element.
        seed: seeds the output weighting ``v`` and the directions.
        raise_exception: raise ``GradcheckError`` on failure (else return False).

    Returns:
        True when all checked gradients agree.
    """
    inputs = tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True; nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: inputs[{i}] has dtype {inputs[i].dtype}; expected "
                             "float64 (finite differences are meaningless in float32)")
    rng = np.random.default_rng(seed)
    outputs = _as_outputs(fn(*inputs))
    weights = [rng.standard_normal(o.shape) if _is_float(o) else None for o in outputs]

    def weighted_sum() -> float:
        total = 0.0
        for output, weight in zip(_as_outputs(fn(*inputs)), weights):
            if weight is not None:
                total += float((np.asarray(output.numpy(), dtype=np.float64) * weight).sum())
        return total

    analytic = _analytic(outputs, weights, [inputs[i] for i in checked])
    report = []
    for position, i in enumerate(checked):
        x, expected = inputs[i], analytic[position]
        if x.numel() <= max_elements:
            pairs = _elementwise(x, expected, eps, weighted_sum)
        else:
            pairs = _directional(x, expected, eps, weighted_sum, rng, directions)
        # written as `not <=` so that a NaN on either side counts as a disagreement
        bad = [(where, a, n) for where, a, n in pairs
               if not abs(a - n) <= atol + rtol * abs(n)]
        if bad:
            report.append(_describe(i, x, pairs, bad, atol, rtol))
    if report:
        if raise_exception:
            raise GradcheckError("gradcheck failed\n" + "\n".join(report))
        return False
    return True


def _analytic(outputs, weights, inputs) -> list[np.ndarray]:
    """v^T J for each input, as arrays (zeros where an output does not depend on it)."""
    pairs = [(o, w) for o, w in zip(outputs, weights) if w is not None and o.requires_grad]
    if not pairs:
        return [np.zeros(x.shape) for x in inputs]
    grads = grad([o for o, _ in pairs], inputs,
                 grad_outputs=[Tensor._wrap(w.astype(o.dtype)) for o, w in pairs],
                 retain_graph=True, allow_unused=True)
    return [np.zeros(x.shape) if g is None else np.asarray(g.numpy(), dtype=np.float64)
            for x, g in zip(inputs, grads)]


def _elementwise(x: Tensor, analytic, eps, weighted_sum):
    pairs = []
    for index in np.ndindex(*x.shape):
        original = x.array[index].copy()
        x.array[index] = original + eps
        plus = weighted_sum()
        x.array[index] = original - eps
        minus = weighted_sum()
        x.array[index] = original
        pairs.append((f"element {index}", float(analytic[index]), (plus - minus) / (2 * eps)))
    return pairs


def _directional(x: Tensor, analytic, eps, weighted_sum, rng, directions):
    pairs = []
    original = x.array.copy()
    for k in range(directions):
        direction = rng.standard_normal(x.shape)
        x.array[...] = original + eps * direction
        plus = weighted_sum()
        x.array[...] = original - eps * direction
        minus = weighted_sum()
        x.array[...] = original
        pairs.append((f"random direction {k}", float((analytic * direction).sum()),
                      (plus - minus) / (2 * eps)))
    return pairs


def _describe(i, x, pairs, bad, atol, rtol) -> str:
    def relative(a, n):
        return abs(a - n) / max(abs(n), abs(a), 1e-12)

    worst = max(pairs, key=lambda p: relative(p[1], p[2]))
    lines = [f"  inputs[{i}] (shape {tuple(x.shape)}): {len(bad)} of {len(pairs)} checks "
             f"disagree (atol={atol:g}, rtol={rtol:g})"]
    for where, a, n in sorted(bad, key=lambda p: -relative(p[1], p[2]))[:5]:
        lines.append(f"    {where}: analytic {a:.8g}, numeric {n:.8g}, "
                     f"difference {a - n:.3g}")
    lines.append(f"    worst relative error {relative(worst[1], worst[2]):.3g} at {worst[0]}")
    return "\n".join(lines)


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, **kwargs) -> bool:
    """Check second derivatives: gradcheck of ``(inputs, v) -> v^T J(inputs)``.

    Args:
        fn, inputs: as for ``gradcheck``.
        grad_outputs: the ``v`` for each differentiable output (default: random float64
            tensors); they are differentiated too.
        kwargs: passed on to ``gradcheck``.
    """
    inputs = tuple(inputs)
    outputs = [o for o in _as_outputs(fn(*inputs)) if _is_float(o) and o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(kwargs.get("seed", 0) + 1)
        grad_outputs = [Tensor._wrap(rng.standard_normal(o.shape), requires_grad=True)
                        for o in outputs]
    grad_outputs = tuple(_as_outputs(grad_outputs))
    count = len(inputs)

    def first_order(*arguments):
        these_inputs, these_vs = arguments[:count], arguments[count:]
        differentiable = [o for o in _as_outputs(fn(*these_inputs))
                          if _is_float(o) and o.requires_grad]
        wrt = [t for t in these_inputs if isinstance(t, Tensor) and t.requires_grad]
        grads = grad(differentiable, wrt, grad_outputs=list(these_vs), create_graph=True,
                     allow_unused=True)
        return tuple(Tensor._wrap(np.zeros(t.shape)) if g is None else g
                     for t, g in zip(wrt, grads))

    return gradcheck(first_order, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol, **kwargs)
