"""Run one snippet of library code under PyTorch and under minicnn and compare the outcome
(used by the ``test_reliability_api*`` files).

The snippet names the library ``L`` (``torch`` or ``minicnn``), with ``nn``, ``F``,
``optim`` and ``data`` (``L.utils.data``) bound too; an expression's value, or what a
statement block leaves in ``out``, is the result. Outcomes must agree:

* both raise: minicnn's exception is (a subclass of) PyTorch's type, or ``ValueError`` where
  PyTorch raises
  its catch-all ``RuntimeError`` (minicnn's convention for a bad value), never a
  Python-internal one (ZeroDivisionError, AttributeError ...: where PyTorch leaks one,
  minicnn raises the ValueError or TypeError it stands for);
* both compute: the same kind of result, shapes, dtypes and values (NaN equal to NaN).
"""
from __future__ import annotations

import numpy as np

import minicnn as mc
from oracle import torch_or_skip

_ALLOWED = {"RuntimeError": ("RuntimeError", "ValueError"), "ValueError": ("ValueError",),
            "TypeError": ("TypeError",), "IndexError": ("IndexError",),
            "NotImplementedError": ("NotImplementedError", "TypeError"),
            # PyTorch's own Python-internal errors become the clear error they should be
            "ZeroDivisionError": ("ValueError",), "AssertionError": ("ValueError", "TypeError"),
            "AttributeError": ("TypeError",)}


def _summary(value, torch):
    if isinstance(value, (torch.Tensor, mc.Tensor)):
        array = np.asarray(value.detach().numpy())
        return ("tensor", tuple(value.shape), str(value.dtype).replace("torch.", ""), array)
    if isinstance(value, (tuple, list)):
        return ("sequence", [_summary(v, torch) for v in value])
    if isinstance(value, (bool, int, float, np.number)) or value is None:
        return ("number", value)
    return ("object", type(value).__name__)


def _run(library, code: str, setup: str):
    names = {"L": library, "np": np, "nn": library.nn, "F": library.nn.functional,
             "optim": library.optim, "data": library.utils.data}
    try:
        exec(setup, names)
        try:
            compiled = compile(code, "<snippet>", "eval")
        except SyntaxError:
            exec(code, names)
            value = names.get("out")
        else:
            value = eval(compiled, names)
        return ("value", _summary(value, _torch()))
    except Exception as error:  # noqa: BLE001 - compared below
        return ("raises", type(error).__name__, str(error),
                [c.__name__ for c in type(error).__mro__])


_TORCH = []


def _torch():
    if not _TORCH:
        _TORCH.append(torch_or_skip())
    return _TORCH[0]


def _same(a, b, where="result") -> None:
    assert a[0] == b[0], f"{where}: PyTorch gives a {a[0]}, minicnn a {b[0]}"
    if a[0] == "tensor":
        assert a[1] == b[1], f"{where}: shape {b[1]}, PyTorch's {a[1]}"
        assert a[2] == b[2], f"{where}: dtype {b[2]}, PyTorch's {a[2]}"
        np.testing.assert_allclose(b[3].astype(np.float64), a[3].astype(np.float64),
                                   rtol=1e-5, atol=1e-6, err_msg=where)
    elif a[0] == "sequence":
        assert len(a[1]) == len(b[1]), f"{where}: {len(b[1])} items, PyTorch's {len(a[1])}"
        for i, (x, y) in enumerate(zip(a[1], b[1])):
            _same(x, y, f"{where}[{i}]")
    elif a[0] == "number":
        assert a[1] == b[1] or (a[1] != a[1] and b[1] != b[1]), f"{where}: {b[1]!r}, PyTorch's {a[1]!r}"


def compare(code: str, setup: str = "", match: str | None = None):
    """Assert that ``code`` has the same outcome under PyTorch and minicnn; returns
    minicnn's outcome (``("raises", type, message)`` or ``("value", summary)``)."""
    import re

    torch = _torch()
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        torch.manual_seed(0)
        theirs = _run(torch, code, setup)
    finally:
        torch.set_default_dtype(default)
    mc.manual_seed(0)
    ours = _run(mc, code, setup)
    if theirs[0] == "raises":
        assert ours[0] == "raises", f"{code!r}: PyTorch raises {theirs[1]}: {theirs[2][:200]}; " \
                                    f"minicnn computes"
        assert set(ours[3]) & set(_ALLOWED.get(theirs[1], (theirs[1],))), \
            f"{code!r}: minicnn raises {ours[1]}: {ours[2]}; PyTorch {theirs[1]}: {theirs[2][:200]}"
        if match is not None:
            assert re.search(match, ours[2]), f"{code!r}: message {ours[2]!r} lacks {match!r}"
    else:
        assert ours[0] == "value", f"{code!r}: minicnn raises {ours[1]}: {ours[2]}; PyTorch " \
                                   f"computes"
        _same(theirs[1], ours[1], repr(code))
    return ours
