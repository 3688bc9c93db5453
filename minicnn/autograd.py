"""The autograd engine: ``Tensor`` and ``Function`` here, the backward walk in
``backward_walk.py``, grad mode (``no_grad``) in ``grad_mode.py``.

Read this file top to bottom, then ``backward_walk.py``: the two are the whole engine.

* A ``Tensor`` wraps one array (NumPy, or CuPy on a GPU) and remembers the ``Function``
  that made it (``tensor.creator``). Tensors made by the user are *leaves*.
* A ``Function`` is one op. ``forward`` works on raw arrays; ``backward`` receives the
  gradient of the output as a Tensor and returns the gradient of each input, **written
  with minicnn's own Tensor ops**. Because of that, the backward pass is itself a graph
  whenever ``create_graph=True``: differentiate it again and you get second derivatives
  (WGAN-GP's gradient penalty, Newton's method, ``gradgradcheck``) for every op.
* The walk (``backward_walk._walk``) visits the functions in reverse topological order,
  with an explicit stack instead of recursion (a 10,000-op chain is fine), adds up the
  gradients that reach each tensor, and undoes broadcasting in one place
  (``_sum_to_shape``).

Chain rule, for y = f(x) inside a bigger graph with scalar output L::

    dL/dx = backward_f(dL/dy)        (a vector-Jacobian product: dL/dy^T . J_f)
"""
from __future__ import annotations

import operator
import traceback
import weakref

import numpy as np

from . import grad_mode as _grad_mode
from .backend import DEFAULT_DTYPE, device_of, get_array_module, to_device
from .devices import BY_NAME as _DEVICES
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tensor_data import _float32_constructor_array, _legacy_constructor_array, _to_array

PRINT_OPTIONS: dict = {}  # np.array2string options for Tensor.__repr__ (set_printoptions)


# ---------------------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------------------
class _TensorType(type):
    """``Tensor(...)`` called by a user is PyTorch's ``torch.Tensor(...)`` (float32 data);
    the engine wraps its own arrays with ``Tensor._wrap(array)`` (no copy, no cast).
    Subclasses (``Parameter``) are built as usual."""

    def __call__(cls, *args, **kwargs):
        if cls is Tensor:
            if len(args) == 1 and isinstance(args[0], Tensor):
                args = (args[0].array,)
            return type.__call__(cls, _float32_constructor_array(args), **kwargs)
        return type.__call__(cls, *args, **kwargs)


class Tensor(metaclass=_TensorType):
    """An n-dimensional array that can remember how it was computed.

    Attributes:
        array: the raw array (``numpy.ndarray`` on the CPU, ``cupy.ndarray`` on a GPU).
        data: as in PyTorch, a Tensor sharing ``array`` outside the graph (no creator,
            no ``requires_grad``); assigning ``t.data = other`` replaces the array.
        grad: the gradient accumulated by ``backward()`` (a Tensor), or None.
        requires_grad: whether gradients should flow to this tensor.
        creator: the ``Function`` whose output this is (None for leaves).

    The math ops (``+``, ``exp``, ``sum`` ...) and the other methods are defined in
    ``minicnn/ops/`` and attached to Tensor in ``minicnn/ops/__init__.py``.

    ``Tensor._wrap(array)`` wraps an array as it is (no copy, no cast): every op makes its
    result that way. ``Tensor(...)`` is PyTorch's constructor, an alias of
    ``FloatTensor``: ``Tensor(2, 3)`` (uninitialised float32 of that shape),
    ``Tensor([1, 2])`` and ``Tensor(array)`` (float32, whatever the array's dtype),
    ``Tensor()`` (empty). To keep an array's dtype: ``mc.from_numpy(a)`` (shares memory) or
    ``mc.tensor(a)`` (copies).
    """

    __array_ufunc__ = None  # numpy must hand `ndarray * tensor` over to Tensor.__rmul__

    @classmethod
    def _wrap(cls, data=None, *sizes, requires_grad: bool = False) -> "Tensor":
        """The engine's constructor: ``data`` (an array) wrapped without a copy or a cast."""
        if cls is not Tensor or sizes or requires_grad or data.__class__ is not np.ndarray:
            return type.__call__(cls, data, *sizes, requires_grad=requires_grad)
        tensor = object.__new__(cls)  # the hot path (every op's result): __init__ inlined
        tensor.array = data
        tensor._grad = tensor.creator = None
        tensor._requires_grad = False
        tensor._version_box = [0]
        return tensor

    def __init__(self, data=None, *sizes, requires_grad: bool = False):
        if data.__class__ is not np.ndarray:
            if isinstance(data, Tensor):
                data = data.array
            elif isinstance(data, np.generic):  # NumPy reductions may return scalars
                data = np.asarray(data)
            elif sizes or data is None or isinstance(data, (int, float, list, tuple)):
                data = _legacy_constructor_array(data, sizes)
        self.array = data
        self._grad = None
        self.creator = None
        self._requires_grad = False
        self._version_box = [0]  # bumped by every in-place op; shared by detach()
        if requires_grad:
            self.requires_grad_(True)

    # -- properties -----------------------------------------------------------------
    # .grad: read in C; assigned with PyTorch's checks (autograd_extra.set_grad)
    grad = property(operator.attrgetter("_grad"),
                    lambda self, value: _autograd_extra.set_grad(self, value))
    requires_grad = property(operator.attrgetter("_requires_grad"),
                             lambda self, value: _autograd_extra.set_requires_grad(self, value))

    @property
    def data(self) -> "Tensor":
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value) -> None:
        self.array = value.array if isinstance(value, Tensor) else value

    @property
    def _version(self) -> int:
        """How many in-place ops have modified this tensor's data (PyTorch's ``_version``)."""
        return self._version_box[0]

    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def device(self) -> str:
        """'cpu' or 'cuda', as an ``mc.device`` (a str with PyTorch's ``.type``, ``.index``)."""
        return _DEVICES[device_of(self.array)]

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.array.size)

    def dim(self) -> int:
        return self.ndim

    def __len__(self) -> int:
        return len(self.array)

    # -- conversions ------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied to the CPU if needed). Not differentiable."""
        return to_device(self.array, "cpu")

    def item(self):
        if self.array.size != 1:
            raise _autograd_extra.error("RuntimeValueError", f"item(): expected a tensor with "
                                        f"one element; a Tensor with {self.array.size} "
                                        f"elements cannot be converted to Scalar")
        return self.array.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise _autograd_extra.error("RuntimeValueError", f"Boolean value of Tensor with "
                                        f"shape {self.shape} is ambiguous (more than one value)")
        return bool(self.item())

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(",
                               **PRINT_OPTIONS)   # mc.set_printoptions fills it
        extra = ""
        if self.creator is not None:
            name = type(self.creator).__name__.removesuffix("Function")   # Conv2dFunction
            extra = f", grad_fn=<{name}Backward>"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self.dtype != DEFAULT_DTYPE:
            extra = f", dtype={self.dtype}" + extra
        if self.device != "cpu":
            extra = f", device='{self.device}'" + extra
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__  # tensors are dict keys by identity, like PyTorch's

    # -- graph helpers ----------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Ask for (or stop asking for) gradients of this leaf tensor, in place."""
        if requires_grad and self.dtype.kind not in "fc":
            raise _autograd_extra.error("RuntimeTypeError", f"requires_grad: only Tensors of "
                                        f"floating-point dtype can require gradients, got "
                                        f"dtype {self.dtype}")
        if not requires_grad and self.creator is not None:
            raise RuntimeError("requires_grad_(False): only leaf tensors can stop requiring "
                               "grad; use .detach() on a computed tensor")
        self._requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """A new leaf tensor sharing this data (and its version counter), cut off from the
        graph."""
        detached = Tensor._wrap(self.array)
        detached._version_box = self._version_box
        return detached

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: dL/d(self), needed when ``self`` is not a scalar (same shape).
            retain_graph: keep the graph so it can be walked again (default: create_graph).
            create_graph: record the backward pass itself, for higher derivatives.
            inputs: accumulate only into these tensors' ``.grad`` (PyTorch's ``inputs=``).
        """
        if inputs is not None:
            return _autograd_extra.backward([self], [gradient], retain_graph, create_graph,
                                            inputs=inputs)
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no "
                               "creator (no input of its graph had requires_grad=True)")
        gradient = _as_gradient(
            gradient, self, "gradient",
            missing=f"backward(): gradient can be omitted only for a scalar output, got "
                    f"shape {self.shape}; pass gradient= of that shape")
        retain = create_graph if retain_graph is None else retain_graph
        stored: set[int] = set()

        def accumulate_into_leaf(leaf: Tensor, grad: Tensor) -> None:
            grad = _materialized(grad)
            if not create_graph:
                grad = Tensor._wrap(_own_writable(grad.array, stored))
            leaf._grad = grad if leaf._grad is None else _accumulate(leaf._grad, grad,
                                                                      create_graph)
            for hook in list(leaf.__dict__.get("_post_accumulate_grad_hooks", {}).values()):
                hook(leaf)

        _walk([self], [gradient], retain, create_graph, targets=None,
              on_leaf_done=accumulate_into_leaf)

    def register_hook(self, hook) -> "_HookHandle":
        """Call ``hook(grad)`` each time this tensor's gradient has been computed (in
        ``backward()`` and in ``minicnn.grad``), before it is used further or stored; a
        Tensor it returns replaces the gradient (``None`` keeps it), as PyTorch's. Works on
        leaves and computed tensors alike. Returns a handle with ``.remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient (PyTorch raises the same)")
        if not callable(hook):
            raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
        from . import backward_walk

        backward_walk._tensor_hooks_in_use += 1
        return _HookHandle(self.__dict__.setdefault("_grad_hooks", {}), hook)

    def retain_grad(self) -> None:
        """Keep this computed tensor's gradient in ``.grad`` at ``backward()`` (only leaves
        keep theirs by default); a no-op on a leaf, as PyTorch's."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.creator is None:
            return
        from . import backward_walk

        backward_walk._tensor_hooks_in_use += 1
        self.__dict__["_retains_grad"] = True

    @property
    def retains_grad(self) -> bool:
        """True after ``retain_grad()`` on a computed tensor."""
        return bool(self.__dict__.get("_retains_grad")) and self.creator is not None

    def register_post_accumulate_grad_hook(self, hook) -> "_HookHandle":
        """Call ``hook(tensor)`` during ``backward()`` right after this leaf's ``.grad`` has
        received its whole gradient of that backward (as PyTorch's hook of the same name).

        The walk hands a leaf its gradient as soon as the last function that uses it has
        run, not at the end of the walk: for a network that is the last layer's weights
        first. ``DistributedDataParallel`` uses this to start all-reducing gradients while
        the rest of the backward pass is still being computed. ``minicnn.grad`` does not
        touch ``.grad`` and calls no hook. Returns a handle with ``.remove()``.
        """
        if not self.is_leaf:
            raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors have "
                               "an accumulated .grad; this tensor was computed by "
                               f"{type(self.creator).__name__}")
        if not callable(hook):
            raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault("_post_accumulate_grad_hooks", {})
        return _HookHandle(hooks, hook)


class _HookHandle:
    """What ``register_post_accumulate_grad_hook`` returns: ``.remove()`` unregisters."""

    _next_id = 0

    def __init__(self, hooks: dict, hook):
        self.hooks, self.id = hooks, _HookHandle._next_id
        _HookHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _own_writable(array, stored: set):
    """A gradient stored in ``.grad`` gets its own writable memory: the walk may hand out
    read-only broadcast views, or one array for two leaves (``a + b``), and users edit
    ``p.grad.array`` in place as in PyTorch."""
    if (not getattr(array.flags, "writeable", True) or array.base is not None
            or id(array) in stored):
        array = array.copy()
    stored.add(id(array))
    return array


def _accumulate(old: Tensor, new: Tensor, create_graph: bool) -> Tensor:
    if create_graph:
        return old + new
    return Tensor._wrap(old.array + new.array)


def _as_gradient(gradient, like: Tensor, name: str, missing: str) -> Tensor:
    """The root gradient dL/d(like) of a walk: ``gradient`` as a Tensor of ``like``'s shape;
    ones when it is None and ``like`` is a scalar (else RuntimeError(``missing``))."""
    if gradient is None:
        if like.array.size != 1:
            raise RuntimeError(missing)
        return Tensor._wrap(get_array_module(like.array).ones_like(like.array))
    if not isinstance(gradient, Tensor):
        gradient = Tensor._wrap(get_array_module(like.array).asarray(gradient, dtype=like.dtype))
    if gradient.shape != like.shape:
        raise RuntimeError(f"{name}: expected shape {like.shape} (the output's), "
                           f"got {gradient.shape}")
    return gradient


# ---------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------
class Function:
    """One differentiable op. Subclasses define ``forward`` and ``backward``.

    ``forward(self, *arrays, **params) -> array``: raw arrays in (one per Tensor input),
    non-differentiable parameters as keywords; store on ``self`` what backward needs.
    ``backward(self, grad_output) -> Tensor | tuple``: one gradient (or None) per input,
    computed with Tensor ops only. Inside backward: ``self.inputs``, ``self.output``,
    ``self.needs_input_grad``.

    Use it through ``apply``: ``y = Exp.apply(x)``.
    """

    inputs: tuple
    needs_input_grad: tuple

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        fn = cls()
        try:
            arrays = [t.array for t in inputs]
        except AttributeError:  # not a Tensor: PyTorch's TypeError, checked only here
            bad = next(t for t in inputs if not isinstance(t, Tensor))
            raise TypeError(f"{cls.__name__}: expected Tensor inputs, got "
                            f"{type(bad).__name__}") from None
        output = Tensor._wrap(fn.forward(*arrays, **params))
        if _grad_mode._enabled:
            needs = tuple(t._requires_grad for t in inputs)
            if any(needs):
                fn.inputs = inputs
                fn.keywords = params  # what it was called with (read by minicnn.onnx)
                fn.needs_input_grad = needs
                fn._input_versions = [t._version_box[0] for t in inputs]
                fn._output_version = 0
                fn._output_ref = weakref.ref(output)
                output.creator = fn
                output._requires_grad = True
                if _grad_mode._anomaly_enabled:   # detect_anomaly(): where it was made
                    fn._forward_stack = traceback.format_stack()[:-1]
        return output

    @property
    def output(self) -> Tensor:
        output = self._output_ref()
        if output is None:  # pragma: no cover - the walk always holds it
            raise RuntimeError(f"{type(self).__name__}: output tensor no longer exists")
        if output._version_box[0] != self._output_version:
            raise _modified_error(self, "its output", output, self._output_version)
        return output

    def forward(self, *arrays, **params):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_output: Tensor):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def _release(self) -> None:
        """Free what backward needed; walking this graph again is an error."""
        self.__dict__.clear()
        self._released = True


# The backward walk (Tensor.backward, minicnn.grad) builds on the two classes above, so it
# is imported after them.
from .backward_walk import (ZeroGradient, _materialized, _modified_error,  # noqa: E402,F401
                            _topological_order, _walk, grad, zero_gradient)
from . import autograd_extra as _autograd_extra  # noqa: E402
backward = _autograd_extra.backward  # torch.autograd.backward



class _VariableMeta(type):
    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """PyTorch < 0.4's ``Variable(tensor, requires_grad=False, volatile=False)``, for old
    scripts. Since 0.4 a Tensor does it all, so this returns ``tensor.detach()`` (the same
    data, outside the graph) with ``requires_grad`` set, exactly as today's PyTorch.
    ``volatile`` is ignored with PyTorch's warning: write ``with mc.no_grad():``.
    ``isinstance(t, Variable)`` is true for every Tensor, as in PyTorch."""

    def __new__(cls, data, requires_grad: bool = False, volatile: bool = False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable: data: expected a Tensor, got {type(data).__name__} "
                            "(PyTorch too; wrap arrays first: Variable(mc.from_numpy(a)))")
        if volatile:
            import warnings

            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "minicnn.no_grad():` instead.", UserWarning, stacklevel=2)
        return data.detach().requires_grad_(requires_grad)


# ---------------------------------------------------------------------------------------
# Making tensors
# ---------------------------------------------------------------------------------------
def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Make a leaf tensor (copies the data, as ``torch.tensor`` does)."""
    array = _to_array(data.array if isinstance(data, Tensor) else data, dtype).copy()
    if device is not None:
        array = to_device(array, device)
    return Tensor._wrap(array, requires_grad=requires_grad)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor without copying; Python scalars take ``like``'s dtype
    (float32 * 2.0 stays float32) and device."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (int, float, bool, np.generic)):
        xp = get_array_module(like.array)
        dtype = like.dtype if like.dtype.kind in "fc" else DEFAULT_DTYPE
        if like.dtype.kind in "iub" and isinstance(value, (int, bool, np.integer)):
            dtype = like.dtype
        return Tensor._wrap(xp.asarray(value, dtype=dtype))
    array = _to_array(value)
    if like is not None and like.device != "cpu":
        array = to_device(array, like.device)
    return Tensor._wrap(array)


def __getattr__(name):
    """``mc.autograd.functional`` (jacobian, hessian ...), ``mc.autograd.gradcheck``,
    ``gradgradcheck`` and anomaly detection, as under ``torch.autograd`` (loaded on first
    use: they build on the whole package)."""
    import importlib

    if name == "functional":
        return importlib.import_module("minicnn.autograd_functional")
    if name in ("gradcheck", "gradgradcheck"):
        return getattr(importlib.import_module("minicnn.gradcheck"), name)
    if name in ("detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
                "is_anomaly_check_nan_enabled"):
        return getattr(importlib.import_module("minicnn.anomaly"), name)
    raise AttributeError(f"module 'minicnn.autograd' has no attribute {name!r}")
