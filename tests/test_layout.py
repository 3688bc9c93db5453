"""The package's naming rules, checked over the whole tree.

* An autograd ``Function`` never shares its name with an ``nn`` module: the op behind
  ``nn.Conv2d`` is ``Conv2dFunction`` (Chainer's suffix), so a reader who meets a name knows
  which of the two it is.
"""
import importlib
import inspect
import pkgutil

import minicnn
from minicnn.autograd import Function


def _modules(package):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            yield importlib.import_module(info.name)
        except ImportError:   # an optional extra (onnx, mpi4py, ...) that is not installed
            continue


def test_no_function_shares_a_name_with_an_nn_module():
    import minicnn.nn as nn
    nn_names = {name for module in [nn, *_modules(nn)]
                for name, value in vars(module).items()
                if inspect.isclass(value) and issubclass(value, nn.Module)}
    functions = {(module.__name__, name) for module in _modules(minicnn)
                 for name, value in vars(module).items()
                 if inspect.isclass(value) and issubclass(value, Function)
                 and value.__module__ == module.__name__}
    assert any(name == "Conv2dFunction" for _, name in functions)   # the walk found the ops
    clashes = sorted(f"{module}.{name}" for module, name in functions if name in nn_names)
    assert clashes == []


def test_each_activation_has_one_definition():
    """``mc.relu is F.relu is Tensor.relu``: one function, in ops/activation.py."""
    import minicnn as mc
    import minicnn.functional as F
    from minicnn.ops import activation
    for name in ("relu", "sigmoid", "tanh"):
        function = getattr(activation, name)
        assert getattr(mc, name) is function
        assert getattr(F, name) is function
        assert getattr(mc.nn.functional, name) is function
        assert getattr(mc.Tensor, name) is function
        assert function.__module__ == "minicnn.ops.activation"
