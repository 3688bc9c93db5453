"""Parts of ``minicnn.autograd`` kept out of ``autograd.py`` (the engine, read top to
bottom): PyTorch's checks on ``t.grad = value``, ``torch.autograd.backward`` and
``Tensor.backward(inputs=...)``."""
from __future__ import annotations



def error(kind: str, message: str) -> Exception:
    """An exception of ``ops/torch_errors.py``'s class ``kind`` (for autograd.py, which
    cannot import minicnn.ops at load time)."""
    return getattr(_errors(), kind)(message)


def _errors():
    from .ops import torch_errors  # imported late: minicnn.ops needs this module's package

    return torch_errors


def set_grad(tensor, value) -> None:
    """``tensor.grad = value`` with PyTorch's checks: None or a Tensor of ``tensor``'s
    shape and dtype (a wrong one was stored and broke the optimizer step later)."""
    if value is not None:
        from .autograd import Tensor

        if not isinstance(value, Tensor):
            raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                            f"type {type(value).__name__}")
        if value.array.shape != tensor.array.shape:
            raise _errors().RuntimeValueError(f"attempting to assign a gradient of size "
                                    f"{list(value.shape)} to a tensor of size "
                                    f"{list(tensor.shape)}. Please ensure that the gradient "
                                    "and the tensor are the same size")
        if value.array.dtype != tensor.array.dtype:
            raise _errors().RuntimeTypeError(f"attempting to assign a gradient with dtype "
                                             f"{value.dtype} "
                                   f"to a tensor with dtype {tensor.dtype} (as PyTorch); "
                                   "convert it first")
    tensor._grad = value


def set_requires_grad(tensor, value) -> None:
    """``tensor.requires_grad = value`` with PyTorch's rules: only a leaf's flag may be
    set, and only a floating-point tensor may require grad."""
    value = bool(value)
    if value and tensor.array.dtype.kind not in "fc":
        raise _errors().RuntimeTypeError(f"requires_grad: only Tensors of floating-point dtype "
                                         f"can require gradients, got dtype {tensor.dtype}")
    if tensor.creator is not None:
        raise _errors().RuntimeValueError(
            "you can only change requires_grad flags of leaf variables. If you want to use a "
            "computed variable in a subgraph that doesn't require differentiation use "
            "var_no_grad = var.detach().")
    tensor._requires_grad = value


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables=None, inputs=None) -> None:
    """``torch.autograd.backward``: accumulate the gradients of ``tensors`` (weighted by
    ``grad_tensors``) into the ``.grad`` of the leaves, or only of ``inputs`` when given."""
    from .autograd import Tensor, _as_gradient

    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * (1 if grad_tensors is not None else len(tensors))
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise _errors().RuntimeValueError(f"backward: got {len(tensors)} tensors and "
                                f"{len(grad_tensors)} gradients")
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"backward: tensors[{position}]: expected a Tensor, got "
                            f"{type(tensor).__name__}")
        if not tensor.requires_grad:
            raise RuntimeError(f"element {position} of tensors does not require grad and does "
                               "not have a grad_fn")
    if inputs is None:
        if len(tensors) == 1:
            return tensors[0].backward(grad_tensors[0], retain_graph, create_graph)
        roots = [_as_gradient(g, t, f"grad_tensors[{i}]", missing=f"backward: grad can be "
                              f"implicitly created only for scalar outputs, got shape {t.shape}")
                 for i, (t, g) in enumerate(zip(tensors, grad_tensors))]
        from .backward_walk import grad as _grad

        leaves = _leaves(tensors)
        return _accumulate(leaves, _grad(tensors, leaves, roots, retain_graph, create_graph,
                                         allow_unused=True), create_graph)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise _errors().RuntimeValueError("backward: 'inputs' argument to backward() cannot be "
                                          "empty")
    from .backward_walk import grad as _grad

    return _accumulate(inputs, _grad(tensors, inputs, grad_tensors, retain_graph,
                                     create_graph, allow_unused=True), create_graph)


def _leaves(tensors) -> list:
    from .autograd import _topological_order

    seen, leaves = set(), []
    for fn in _topological_order(tensors):
        for tensor in fn.inputs:
            if tensor.requires_grad and tensor.creator is None and id(tensor) not in seen:
                seen.add(id(tensor))
                leaves.append(tensor)
    for tensor in tensors:  # a leaf root is its own leaf
        if tensor.creator is None and id(tensor) not in seen:
            seen.add(id(tensor))
            leaves.append(tensor)
    return leaves


def _accumulate(targets, grads, create_graph) -> None:
    from .autograd import Tensor

    for tensor, grad in zip(targets, grads):
        if grad is None:
            continue
        grad = grad if create_graph else Tensor._wrap(grad.array.copy())
        tensor.grad = grad if tensor.grad is None else (
            tensor.grad + grad if create_graph else Tensor._wrap(tensor.grad.array + grad.array))
