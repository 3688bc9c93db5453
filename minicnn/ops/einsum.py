r"""``einsum``: sums of products named by subscripts, e.g. ``einsum('bij,bjk->bik', a, b)``.

The equation is first made explicit (``...`` replaced by letters, the implicit output
``'ij,jk'`` -> ``'ij,jk->ik'``: the letters seen once, in alphabetical order). Then

.. math::
    y[o] = \sum_{\text{letters not in } o} \prod_k x_k[s_k]

is linear in each operand, so the gradient of operand k is again an einsum: of g and all
the other operands, into operand k's letters,

    dL/dx_k = einsum(o, s_1, .., (skip k), .. -> s_k)(g, x_1, .., x_n)

with two fixes: a letter found only in s_k (summed away in the forward) is broadcast back,
and a letter repeated in s_k (a diagonal, 'ii->i') is put back on the diagonal by a product
with the identity. Being einsums of Tensors, the gradients differentiate again.
"""
from __future__ import annotations

import string

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .shape import broadcast_to, reshape
from .torch_errors import RuntimeValueError

_LETTERS = string.ascii_letters


def _parse(equation: str, shapes: list[tuple]) -> tuple[list[str], str]:
    """Explicit subscripts (one string per operand) and output, '...' expanded."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation: expected a string, got {type(equation).__name__}")
    equation = equation.replace(" ", "")
    lhs, arrow, out = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeValueError(f"einsum: the equation {equation!r} names {len(terms)} "
                                f"operands, got {len(shapes)}")
    used = set(equation) - set(".,->")
    for char in used:
        if char not in _LETTERS:
            raise ValueError(f"einsum: subscripts must be letters, got {char!r} in {equation!r}")
    free = [c for c in _LETTERS if c not in used]
    ellipsis_dims = 0
    for term, shape in zip(terms, shapes):
        if "..." in term:
            ellipsis_dims = max(ellipsis_dims, len(shape) - (len(term) - 3))
    ellipsis = "".join(free[:ellipsis_dims])
    subscripts = []
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        if term.count("...") > 1 or term.replace("...", "").count(".") or (
                "..." not in term and "." in term):
            raise RuntimeValueError(f"einsum: operand {k}: '...' may appear once, got {term!r}")
        if "..." in term:
            own = len(shape) - (len(term) - 3)
            if own < 0:
                raise RuntimeValueError(f"einsum: operand {k} has {len(shape)} dims, fewer than "
                                        f"the {len(term) - 3} letters of {term!r}")
            term = term.replace("...", ellipsis[ellipsis_dims - own:])
        if len(term) != len(shape):
            raise RuntimeValueError(f"einsum: operand {k}: subscripts {term!r} name "
                                    f"{len(term)} dims, but the operand has shape {tuple(shape)}")
        subscripts.append(term)
    if arrow:
        if "..." in out:
            out = out.replace("...", ellipsis)
        for char in out:
            if not any(char in s for s in subscripts):
                raise ValueError(f"einsum: output letter {char!r} appears in no operand")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: the output {out!r} repeats a letter")
    else:
        joined = "".join(subscripts)
        out = ellipsis + "".join(sorted(c for c in set(joined) if joined.count(c) == 1
                                        and c not in ellipsis))
    return subscripts, out


def _sizes(subscripts, shapes, equation) -> dict:
    """letter -> size (a size-1 dim broadcasts against a bigger one)."""
    sizes: dict = {}
    for k, (term, shape) in enumerate(zip(subscripts, shapes)):
        for char, size in zip(term, shape):
            known = sizes.get(char, 1)
            if size != 1 and known != 1 and size != known:
                raise RuntimeValueError(f"einsum: letter {char!r} has size {known} in one operand "
                                        f"and {size} in operand {k} ({equation!r})")
            sizes[char] = max(known, size)
    return sizes


class Einsum(Function):
    """y = xp.einsum(equation, *operands) with an explicit equation; backward: one einsum per
    operand (see the module docstring)."""

    def forward(self, *operands, subscripts, out):
        self.subscripts, self.out = subscripts, out
        xp = get_array_module(operands[0])
        return xp.einsum(",".join(subscripts) + "->" + out, *operands)

    def backward(self, g):
        sizes = _sizes(self.subscripts, [t.shape for t in self.inputs], "")
        grads = []
        for k in range(len(self.subscripts)):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            grads.append(_operand_grad(g, self.inputs, self.subscripts, self.out, k, sizes))
        return tuple(grads)


def _operand_grad(g, inputs, subscripts, out, k, sizes):
    target = subscripts[k]
    others = [(s, t) for i, (s, t) in enumerate(zip(subscripts, inputs)) if i != k]
    present = set(out).union(*[set(s) for s, _ in others]) if others else set(out)
    unique = "".join(dict.fromkeys(target))          # letters of x_k, first-seen order
    reached = "".join(c for c in unique if c in present)
    terms = [out] + [s for s, _ in others]
    tensors = [g] + [t for _, t in others]
    grad = _explicit(terms, reached, tensors)
    if len(reached) != len(unique):                   # letters summed away: broadcast back
        grad = reshape(grad, tuple(sizes[c] if c in reached else 1 for c in unique))
        grad = broadcast_to(grad, tuple(sizes[c] for c in unique))
    if len(unique) != len(target):                    # repeated letters: back on the diagonal
        grad = _on_diagonal(grad, unique, target, sizes)
    return grad


def _explicit(terms, out, tensors):
    return Einsum.apply(*tensors, subscripts=list(terms), out=out)


def _on_diagonal(grad, unique, target, sizes):
    """Tensor of letters ``target`` (with repeats) equal to grad on the diagonal, 0 off it:
    each repeat of a letter becomes a fresh letter tied to the first by an identity matrix."""
    used = set(target)
    fresh = iter(c for c in _LETTERS if c not in used)
    renamed, seen, eyes = [], set(), []
    for char in target:
        if char in seen:
            new = next(fresh)
            renamed.append(new)
            eyes.append(char + new)
        else:
            seen.add(char)
            renamed.append(char)
    xp = get_array_module(grad.array)
    eye_tensors = [Tensor._wrap(xp.eye(sizes[pair[0]], dtype=grad.dtype)) for pair in eyes]
    return _explicit([unique] + eyes, "".join(renamed), [grad] + eye_tensors)


def einsum(equation: str, *operands) -> Tensor:
    """``torch.einsum``: the equation and the operands (or one list of them)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: expected at least one operand")
    operands = [as_tensor(t) for t in operands]
    subscripts, out = _parse(equation, [t.shape for t in operands])
    sizes = _sizes(subscripts, [t.shape for t in operands], equation)
    for k, (term, t) in enumerate(zip(subscripts, operands)):
        full = tuple(sizes[c] for c in term)
        if t.shape != full:  # a size-1 dim that broadcasts: make it explicit (grad sums back)
            operands[k] = broadcast_to(t, full)
    dtypes = {t.dtype for t in operands}
    if len(dtypes) > 1:
        raise TypeError(f"einsum: operands must share one dtype, got {sorted(map(str, dtypes))}")
    return Einsum.apply(*operands, subscripts=subscripts, out=out)


__all__ = ["einsum"]
