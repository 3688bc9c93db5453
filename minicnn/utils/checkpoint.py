r"""Gradient checkpointing, as ``torch.utils.checkpoint.checkpoint``: trade compute for memory.

A normal forward keeps every intermediate tensor a backward needs: for a deep network that
is most of the memory of a training step. ``checkpoint(block, x)`` runs ``block`` *without*
recording its graph (so its intermediates are freed at once) and records one node instead;
when backward reaches that node it runs ``block`` again, this time recording, and walks
back through the fresh graph::

    forward:   y = block(x)          under no_grad: only x and y are kept
    backward:  y' = block(x)         recomputed with the graph on
               dL/dx = grad(y', x, grad_outputs=dL/dy)

So memory for ``block``'s inside is paid only during its own backward, at the price of a
second forward. With ``preserve_rng_state`` (the default) the recomputation draws the same
random numbers (dropout masks) as the first run: minicnn's generator is saved before the
forward and put back for the replay (and restored afterwards).

The node's inputs are the Tensor arguments *and* the parameters ``block`` reads: those of
``block`` itself when it is a Module, of the Module a bound method belongs to, and of the
Modules and Tensors its closure holds, alone or in lists (``lambda t: self.layer(t)``). So the outer walk treats
them as any op's inputs: ``backward()`` accumulates their ``.grad``, ``mc.grad`` does not, and
a second derivative (``create_graph``) flows through the recomputed graph. A tensor reached
another way (a global) would get no gradient, so the replay checks for one and raises,
naming it: pass it as an argument.

``block`` may return a Tensor or a tuple of Tensors of one dtype.
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..backend import get_array_module
from ..autograd import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    """One graph node standing for a whole ``block`` call. Its output is every output of the
    block flattened into one vector (``checkpoint`` unpacks it into views)."""

    def forward(self, *arrays, block, others, slots, preserve_rng_state, arguments):
        self.block, self.others, self.slots, self.arguments = block, others, slots, arguments
        arrays = arrays[:arguments]   # the rest are the parameters the block reads
        self.rng_state = _random.get_rng_state() if preserve_rng_state else None
        with no_grad():
            outputs = block(*_arguments([Tensor._wrap(a) for a in arrays], others, slots))
        outputs, self.single = _as_outputs(outputs)
        self.shapes = [o.shape for o in outputs]
        if not outputs:
            return np.zeros(0, dtype=np.float32)
        xp = get_array_module(outputs[0].array)
        return xp.concatenate([o.array.reshape(-1) for o in outputs])

    def backward(self, grad_output: Tensor):
        create_graph = is_grad_enabled()
        # The arguments replay on fresh leaves (unless a second derivative needs the original
        # graph); the parameters the block reads are the originals, so they stay as they are.
        inputs = [t if create_graph or position >= self.arguments
                  else t.detach().requires_grad_(t.requires_grad)
                  for position, t in enumerate(self.inputs)]
        saved_state = _random.get_rng_state()
        if self.rng_state is not None:
            _random.set_rng_state(self.rng_state)
        try:
            with enable_grad():
                outputs, _ = _as_outputs(self.block(*_arguments(inputs[:self.arguments],
                                                                self.others, self.slots)))
        finally:
            _random.set_rng_state(saved_state)
        _check_no_hidden_leaves(outputs, inputs)
        grad_outputs, start = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            grad_outputs.append(grad_output[start:start + size].reshape(shape))
            start += size
        wanted = [t for t, needs in zip(inputs, self.needs_input_grad) if needs]
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
        if not pairs or not wanted:
            return tuple(None for _ in inputs)
        found = iter(grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                          create_graph=create_graph, allow_unused=True))
        return tuple(next(found) if needs else None for needs in self.needs_input_grad)


def _check_no_hidden_leaves(outputs: list, known) -> None:
    """Raise if the replayed graph reads a tensor that requires grad and is not one of the
    node's inputs: it would silently get no gradient."""
    from ..backward_walk import _topological_order

    known_ids = {id(t) for t in known}
    for fn in _topological_order([o for o in outputs if o.requires_grad]):
        for tensor in fn.inputs:
            if tensor.creator is None and tensor.requires_grad and id(tensor) not in known_ids:
                raise RuntimeError(
                    f"checkpoint: the block reads a tensor that requires grad (shape "
                    f"{tuple(tensor.shape)}) that is neither an argument nor a parameter of a "
                    "Module the block is, is bound to or closes over; it would get no "
                    "gradient. Pass it to checkpoint as an argument.")


def _read_parameters(function, args) -> list:
    """The parameters and grad-requiring tensors ``function`` reads (see the docstring)."""
    from ..nn.module import Module

    found, seen = [], set()

    def add(value):
        if isinstance(value, Module):
            for parameter in value.parameters():
                add(parameter)
        elif isinstance(value, Tensor) and value.requires_grad and id(value) not in seen:
            seen.add(id(value))
            found.append(value)
        elif isinstance(value, (list, tuple)):   # a closure over a list of modules
            for item in value:
                add(item)

    add(function)
    add(getattr(function, "__self__", None))
    for cell in getattr(function, "__closure__", None) or ():
        try:
            add(cell.cell_contents)
        except ValueError:   # an empty cell
            pass
    for value in args:
        if isinstance(value, Module):
            add(value)
    return found


def _arguments(tensors: list, others: list, slots: list) -> list:
    """The block's positional arguments: Tensors where ``slots`` says, the rest in order."""
    tensors, others = iter(tensors), iter(others)
    return [next(tensors) if is_tensor else next(others) for is_tensor in slots]


def _as_outputs(outputs) -> tuple[list, bool]:
    if isinstance(outputs, Tensor):
        return [outputs], True
    if isinstance(outputs, (tuple, list)) and all(isinstance(o, Tensor) for o in outputs):
        if len({o.dtype for o in outputs}) > 1:
            raise TypeError("checkpoint: the block's outputs must share one dtype, got "
                            f"{sorted(str(o.dtype) for o in outputs)}")
        return list(outputs), False
    raise TypeError(f"checkpoint: the block must return a Tensor or a tuple of Tensors, got "
                    f"{type(outputs).__name__}")


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check=None,
               debug=None, preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)``, its inside recomputed during backward instead of kept
    (see the module docstring). ``use_reentrant``, ``context_fn``, ``determinism_check``
    and ``debug`` are PyTorch's implementation switches, accepted and unused here: there is
    one implementation."""
    if not callable(function):
        raise TypeError(f"checkpoint: function: expected a callable, got "
                        f"{type(function).__name__}")
    block = (lambda *a: function(*a, **kwargs)) if kwargs else function
    slots = [isinstance(a, Tensor) for a in args]
    tensors = [a for a in args if isinstance(a, Tensor)]
    others = [a for a in args if not isinstance(a, Tensor)]
    read = [p for p in _read_parameters(function, args) if all(p is not t for t in tensors)]
    if not is_grad_enabled() or not any(t.requires_grad for t in tensors + read):
        return block(*args)   # nothing to differentiate: no node, no recomputation
    packed = _Checkpoint.apply(*tensors, *read, block=block, others=others, slots=slots,
                               preserve_rng_state=preserve_rng_state, arguments=len(tensors))
    fn = packed.creator
    views, start = [], 0
    for shape in fn.shapes:
        size = math.prod(shape)
        views.append(packed[start:start + size].reshape(shape))
        start += size
    return views[0] if fn.single else tuple(views)


def checkpoint_sequential(functions, segments: int, input, use_reentrant=None, **kwargs):
    """Run a ``Sequential`` (or list of modules) in ``segments`` checkpointed chunks; the
    last chunk runs normally, as in PyTorch."""
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments: expected a positive int, got "
                         f"{segments!r}")
    size = max(len(modules) // segments, 1)

    def run(start, end):
        def chunk(x):
            for module in modules[start:end]:
                x = module(x)
            return x
        return chunk

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end + 1), input, **kwargs)
    return run(end + 1, len(modules))(input)
