"""Random test configurations for ``minicnn gradcheck OP``: one recipe per op.

Each recipe draws, from a seeded generator, one configuration of its op (shapes, strides,
padding, dims, modes...) and float64 inputs that require grad, and returns the function
to check. ``run_case`` runs ``gradcheck`` (first derivatives) and ``gradgradcheck``
(second derivatives) on a few of them and reports each in one line.

Values are drawn so that finite differences are meaningful: away from kinks (0 for relu
and abs, the clamp bounds, ties in max and max pooling) and inside the domain (positive
for log and sqrt). A recipe that draws a configuration its op rejects (a kernel larger
than the padded input...) draws again.

To check your own op, call ``minicnn.gradcheck.gradcheck(fn, inputs)`` directly, or add a
recipe here: a function ``(rng) -> (fn, inputs, description)`` registered with ``@case``.
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .autograd import Tensor
from .gradcheck_draws import (CASES, Case, _leaf, away_from_zero, broadcast_partner,  # noqa: F401
                              case, describe, distinct, random_shape, unary_case, uniform)
from .ops import math as _math
from .ops import shape as _shape

# ---------------------------------------------------------------------------------------
# Elementwise and reductions (minicnn/ops/math.py)
# ---------------------------------------------------------------------------------------
def _binary(name, op, symbol, positive_b=False, positive_a=False):
    @case(name, f"a {symbol} b with broadcasting")
    def make(rng):
        shape = random_shape(rng)
        a = uniform(rng, shape, 0.5, 1.5) if positive_a else uniform(rng, shape)
        other = broadcast_partner(rng, shape)
        b = (away_from_zero(rng, other, 0.3) if positive_b == "nonzero" else
             uniform(rng, other, 0.5, 1.5) if positive_b else uniform(rng, other))
        if rng.random() < 0.5:
            a, b = b, a  # broadcasting on either side
            if positive_a or positive_b:
                a, b = b, a
        return op, (a, b), describe(a=a, b=b)


_binary("add", _math.add, "+")
_binary("sub", _math.sub, "-")
_binary("mul", _math.mul, "*")
_binary("div", _math.div, "/", positive_b="nonzero")
_binary("pow", _math.power, "**", positive_a=True, positive_b=True)


unary_case("neg", _math.neg)
unary_case("exp", _math.exp)
unary_case("log", _math.log, lambda rng, s: uniform(rng, s, 0.2, 2.0), "log(x), x > 0")
unary_case("sqrt", _math.sqrt, lambda rng, s: uniform(rng, s, 0.2, 2.0), "sqrt(x), x > 0")
unary_case("tanh", F.tanh, lambda rng, s: uniform(rng, s, -2, 2))
unary_case("sigmoid", F.sigmoid, lambda rng, s: uniform(rng, s, -3, 3))
unary_case("relu", F.relu, away_from_zero, "relu(x), x away from the kink at 0")
unary_case("abs", _math.abs, away_from_zero, "|x|, x away from the kink at 0")


@case("clamp", "clamp(x, min, max), x away from the bounds")
def _clamp(rng):
    low, high = -0.5, 0.5
    values = rng.uniform(-1, 1, random_shape(rng))
    for bound in (low, high):  # move values off the kinks
        near = np.abs(values - bound) < 0.05
        values[near] += 0.1
    x = _leaf(values)
    return (lambda x: _math.clamp(x, low, high)), (x,), describe(x=x, min=low, max=high)


@case("where", "where(condition, a, b)")
def _where(rng):
    shape = random_shape(rng)
    condition = Tensor._wrap(rng.random(shape) < 0.5)
    a, b = uniform(rng, shape), uniform(rng, broadcast_partner(rng, shape))
    return (lambda a, b: _math.where(condition, a, b)), (a, b), describe(a=a, b=b)


def _extremum_pair(name, op):
    @case(name, f"{name}(a, b), no ties")
    def make(rng):
        shape = random_shape(rng)
        a = uniform(rng, shape)
        gap = rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
        b = _leaf(a.array + gap)
        return op, (a, b), describe(a=a, b=b)


_extremum_pair("maximum", _math.maximum)
_extremum_pair("minimum", _math.minimum)


def _reduction(name, op, draw=uniform, variance=False):
    @case(name, f"{name}(x, dim, keepdim)")
    def make(rng):
        shape = random_shape(rng, 1, 3)
        if variance:
            shape = tuple(max(s, 2) for s in shape)  # unbiased variance needs 2 values
        x = draw(rng, shape)
        choice = rng.integers(0, 3)
        dim = (None if choice == 0 else int(rng.integers(-len(shape), len(shape))) if choice == 1
               else tuple(sorted(rng.choice(len(shape), size=min(2, len(shape)), replace=False)
                                 .tolist())))
        keepdim = bool(rng.random() < 0.5)
        return (lambda x: op(x, dim=dim, keepdim=keepdim)), (x,), describe(
            x=x, dim=dim, keepdim=keepdim)


_reduction("sum", _math.sum)
_reduction("mean", _math.mean)
_reduction("var", _math.var, variance=True)
_reduction("std", _math.std, distinct, variance=True)  # sqrt: no zero spread
_reduction("amax", _math.amax, distinct)
_reduction("amin", _math.amin, distinct)


@case("matmul", "a @ b: matrices, batches and vectors")
def _matmul(rng):
    n, k, m, batch = (int(v) for v in rng.integers(1, 5, 4))
    kind = int(rng.integers(0, 4))
    shapes = [((n, k), (k, m)), ((batch, n, k), (k, m)), ((k,), (k, m)),
              ((batch, n, k), (batch, k, m))][kind]
    a, b = uniform(rng, shapes[0]), uniform(rng, shapes[1])
    return _math.matmul, (a, b), describe(a=a, b=b)


# ---------------------------------------------------------------------------------------
# Shapes and indexing (minicnn/ops/shape.py)
# ---------------------------------------------------------------------------------------
@case("reshape", "reshape to a random compatible shape")
def _reshape(rng):
    x = uniform(rng, (2, 3, 4))
    target = [(4, 6), (24,), (3, -1), (2, 2, 6)][int(rng.integers(0, 4))]
    return (lambda x: _shape.reshape(x, *target)), (x,), describe(x=x, shape=target)


@case("permute", "permute dimensions")
def _permute(rng):
    x = uniform(rng, (2, 3, 4))
    dims = tuple(int(d) for d in rng.permutation(3))
    return (lambda x: _shape.permute(x, *dims)), (x,), describe(x=x, dims=dims)


@case("transpose", "swap two dimensions")
def _transpose(rng):
    x = uniform(rng, random_shape(rng, 2, 3))
    d0, d1 = (int(d) for d in rng.choice(x.ndim, 2, replace=False))
    return (lambda x: _shape.transpose(x, d0, d1)), (x,), describe(x=x, dim0=d0, dim1=d1)


@case("flatten", "flatten(x, start_dim, end_dim)")
def _flatten(rng):
    x = uniform(rng, random_shape(rng, 2, 4, 3))
    start = int(rng.integers(0, x.ndim))
    end = int(rng.integers(start, x.ndim))
    return (lambda x: _shape.flatten(x, start, end)), (x,), describe(x=x, start=start, end=end)


@case("squeeze", "remove a size-1 dimension")
def _squeeze(rng):
    x = uniform(rng, (2, 1, 3))
    dim = [1, None][int(rng.integers(0, 2))]
    return (lambda x: _shape.squeeze(x, dim)), (x,), describe(x=x, dim=dim)


@case("unsqueeze", "insert a size-1 dimension")
def _unsqueeze(rng):
    x = uniform(rng, random_shape(rng))
    dim = int(rng.integers(-x.ndim - 1, x.ndim + 1))
    return (lambda x: _shape.unsqueeze(x, dim)), (x,), describe(x=x, dim=dim)


@case("broadcast_to", "broadcast to a larger shape (gradient: sum back)")
def _broadcast_to(rng):
    x = uniform(rng, (3, 1))
    target = [(2, 3, 4), (3, 5)][int(rng.integers(0, 2))]
    return (lambda x: _shape.broadcast_to(x, target)), (x,), describe(x=x, shape=target)


@case("getitem", "x[index]: slices, steps, repeated integer indices")
def _getitem(rng):
    x = uniform(rng, (4, 5))
    index = [(slice(1, None), slice(None, None, 2)), (np.array([0, 2, 0, 3]),),
             (slice(None), 3), (np.array([1, 1]), np.array([0, 4]))][int(rng.integers(0, 4))]
    return (lambda x: _shape.getitem(x, index)), (x,), describe(x=x, index=index)


@case("cat", "concatenate along a dimension")
def _cat(rng):
    dim = int(rng.integers(0, 2))
    shapes = [(2, 3), (2, 3)]
    shapes[1] = (4, 3) if dim == 0 else (2, 1)
    a, b = uniform(rng, shapes[0]), uniform(rng, shapes[1])
    return (lambda a, b: _shape.cat([a, b], dim)), (a, b), describe(a=a, b=b, dim=dim)


@case("stack", "stack along a new dimension")
def _stack(rng):
    dim = int(rng.integers(0, 3))
    a, b = uniform(rng, (2, 3)), uniform(rng, (2, 3))
    return (lambda a, b: _shape.stack([a, b], dim)), (a, b), describe(a=a, b=b, dim=dim)


@case("pad", "constant padding of the last dimensions")
def _pad(rng):
    x = uniform(rng, (2, 3, 3))
    widths = tuple(int(w) for w in rng.integers(0, 3, 4))
    return (lambda x: _shape.pad(x, widths)), (x,), describe(x=x, pad=widths)


from . import gradcheck_cases_nn  # noqa: E402,F401  (registers the nn ops' recipes)


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------
def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def run_case(recipe: Case, trials: int = 3, seed: int = 0, write=print) -> int:
    """Run gradcheck and gradgradcheck on ``trials`` random configurations of ``case``;
    write one line per configuration (and the report of any failure); return how many
    configurations failed."""
    failures = 0
    name_code = sum(ord(ch) * (i + 1) for i, ch in enumerate(recipe.name))  # stable per op
    write(f"{recipe.name}: {recipe.about}")
    for trial in range(trials):
        rng = np.random.default_rng([seed, name_code, trial])
        text, stage = "(drawing a configuration)", "gradcheck"
        try:
            fn, inputs, text = recipe.make(rng)
            gradcheck(fn, inputs)
            stage = "gradgradcheck"
            gradgradcheck(fn, inputs)
            write(f"  [{trial + 1}/{trials}] {text}: gradcheck ok, gradgradcheck ok")
        except GradcheckError as error:
            failures += 1
            write(f"  [{trial + 1}/{trials}] {text}: {stage} FAILED\n{_indent(str(error))}")
        except Exception as error:  # an op that crashes is a failure too, reported as such
            failures += 1
            write(f"  [{trial + 1}/{trials}] {text}: {stage} ERROR {type(error).__name__}: "
                  f"{error}")
    return failures
