"""The package's naming rules, checked over the whole tree.

* An autograd ``Function`` never shares its name with an ``nn`` module: the op behind
  ``nn.Conv2d`` is ``Conv2dFunction`` (Chainer's suffix), so a reader who meets a name knows
  which of the two it is.
* One idea per file: no source file of ``minicnn/`` or ``kernels/`` is over 500 lines.
* Kernels are arrays in, arrays out: nothing in ``kernels/`` imports ``minicnn.ops``.
"""
import ast
import importlib
import inspect
import pathlib
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


ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("minicnn/**/*.py"), *ROOT.glob("kernels/*.py"),
                  *ROOT.glob("kernels/*.cu")])


def test_no_source_file_is_over_500_lines():
    assert len(SOURCES) > 50
    long = {str(path.relative_to(ROOT)): count for path in SOURCES
            if (count := len(path.read_text().splitlines())) > 500}
    assert long == {}


def _absolute_imports(path):
    """Every module and name that ``path`` (a file of ``minicnn.kernels``) imports, as an
    absolute dotted name (``from ..ops import conv`` -> ``minicnn.ops.conv``)."""
    package = ["minicnn", "kernels"]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def test_kernels_import_nothing_from_minicnn_ops():
    imported = [(path.name, name) for path in ROOT.glob("kernels/*.py")
                for name in _absolute_imports(path)]
    assert ("cpu_runtime.py", "minicnn.kernels.cpu_threads") in imported  # relative, resolved
    into_ops = [(file, name) for file, name in imported
                if name == "minicnn.ops" or name.startswith("minicnn.ops.")]
    assert into_ops == []
