"""Reliability of the library API against PyTorch (issue 13, the adversarial campaign's
library half): tensors, indexing, creation, joins. Each case runs the same snippet under
PyTorch and minicnn (``api_oracle.compare``): where PyTorch raises, minicnn raises a clear
error of the matching type; where PyTorch computes, minicnn computes the same shape, dtype
and value."""
from __future__ import annotations

import pytest

import minicnn as mc
from api_oracle import compare

X = "x = L.arange(12.).reshape(3, 4)"


# -- making tensors: Python ints beyond int64 are an error, never a wrapped-around value --
@pytest.mark.parametrize("code", [
    "L.tensor(2**63)", "L.tensor(-2**63 - 1)", "L.tensor([2**64])", "L.tensor([1, 2**63])",
    "L.tensor(2**63 - 1)", "L.tensor([1.0, 2**70])", "L.tensor(2**63, dtype=L.float64)",
    "L.tensor([[1, 2], [3, 4]])", "L.tensor([True, 2])"])
def test_python_ints_beyond_int64(code):
    compare(code)


def test_tensor_of_a_huge_int_names_the_range():
    with pytest.raises(ValueError, match="outside int64's range"):
        mc.tensor(2**63)


# -- joins: PyTorch's dtype promotion, its legacy empty-1-D rule, its argument checks ------
@pytest.mark.parametrize("code", [
    "L.cat([x, L.ones(3, 4, dtype=L.int64)])", "L.cat([L.ones(2, dtype=L.int64), L.ones(2)])",
    "L.stack([x, L.ones(3, 4, dtype=L.int64)])", "L.cat([x, L.ones(3, 4, dtype=L.float64)])",
    "L.cat([L.ones(2, dtype=L.int32), L.ones(2, dtype=L.int64)])",
    "L.cat([L.ones(2, dtype=L.bool), L.ones(2, dtype=L.uint8)])",
    "L.cat([x, L.ones(0)])", "L.cat([L.ones(0), x, L.ones(0)], 1)", "L.cat([L.ones(0)])",
    "L.cat((x, 3))", "L.stack([x, 3])", "L.cat(x)", "L.stack(x)", "L.cat([])", "L.stack([])",
    "L.cat([L.tensor(1.), L.tensor(2.)])", "L.cat([x, x[:, :2]])", "L.cat([x, x[:, :2]], 1)"])
def test_cat_and_stack(code):
    compare(code, X)


def test_cat_promotion_keeps_each_gradient_in_its_dtype():
    a = mc.ones(2, requires_grad=True)
    b = mc.ones(2, dtype=mc.float64, requires_grad=True)
    out = mc.cat([a, b])
    assert out.dtype == mc.float64
    (out * 2).sum().backward()
    assert a.grad.dtype == mc.float32 and b.grad.dtype == mc.float64
    assert a.grad.tolist() == [2.0, 2.0] == b.grad.tolist()


def test_cat_of_a_tensor_says_how_to_split_it():
    with pytest.raises(TypeError, match=r"list\(x\)"):
        mc.cat(mc.ones(2, 3))


# -- indexing and reshaping ------------------------------------------------------------------
@pytest.mark.parametrize("code", [
    "x[::0]", "x[::2]", "x[1::3]", "x[5:]", "x[1:0]",
    "x.view(3, 4.0)", "x.view(2, 6.0)", "x.reshape(True, 12)", "x.view(-1, -1)",
    "x.reshape(-2, 6)", "x.reshape(L.tensor(3), 4)", "x.reshape(np.int64(2), -1)",
    "x.view([2, 6])", "x.reshape((2, -1))", "x.view(5, -1)", "x.reshape(0, -1)"])
def test_indexing_and_reshaping(code):
    compare(code, X)


def test_negative_step_is_numpys_reversed_view():
    # PyTorch raises ("step must be greater than zero"); minicnn keeps NumPy's meaning, the
    # flip, which its ONNX export converts (tests/test_interop.py)
    x = mc.arange(6.).reshape(2, 3)
    assert x[:, ::-1].tolist() == x.flip(1).tolist()


# -- creation functions -----------------------------------------------------------------
@pytest.mark.parametrize("code", [
    "L.randperm(-1)", "L.randperm(0)", "L.randperm(4).dtype == L.int64", "L.randperm(2.5)",
    "L.randint(3, (2,)).shape", "L.randint(0, 3, (2, 2)).dtype == L.int64",
    "L.randint(5, 0, (3,))", "L.randint(0, 5, (-1,))", "L.randint(0, 5, (2.5,))",
    "L.full((2,), 'a')", "L.full((2, 3), 1)", "L.full((2,), True)", "L.full((2,), 1.5)",
    "L.full((-1,), 1.0)", "L.zeros(2, dtype=L.int64)", "L.ones(2, 3, dtype=L.float64)",
    "L.empty(2**62, 2**62)", "L.zeros(2**40, 2**30)", "L.ones(2**62, 4)"])
def test_creation(code):
    compare(code)


def test_huge_layers_are_one_runtime_error_naming_the_shape():
    with pytest.raises(RuntimeError, match=r"cannot allocate a tensor of shape \(4, 1099511627776\)"):
        mc.nn.Linear(2**40, 4)


@pytest.mark.parametrize("code", [
    "L.tensor([300], dtype=L.int8)", "L.tensor([float('nan')], dtype=L.int64)",
    "L.tensor([1.7], dtype=L.int64)", "L.tensor([-1], dtype=L.uint8)",
    "L.tensor([[1, 2], [3, 400]], dtype=L.uint8)", "L.tensor([0.5], dtype=L.bool)",
    "L.full((2,), float('nan'), dtype=L.int64)", "L.full((2,), 300, dtype=L.int8)",
    "L.full((2,), 2.7, dtype=L.int64)", "L.full((2,), -1, dtype=L.uint8)",
    "L.as_tensor([1, 2], dtype=L.float32)", "L.as_tensor(np.ones(2)).dtype == L.float64",
    "L.as_tensor(np.ones(2, dtype=np.float32), dtype=L.float64)",
    "L.from_numpy(np.array(['a']))", "L.from_numpy(np.ones((2, 2))[:, ::-1])",
    "L.from_numpy(np.ones((2, 2))[:, ::2])"])
def test_conversions_that_do_not_fit(code):
    compare(code)


def test_as_tensor_shares_an_arrays_memory():
    import numpy as np

    array = np.zeros(3)
    t = mc.as_tensor(array)
    array[0] = 7
    assert t.tolist() == [7.0, 0.0, 0.0] and mc.as_tensor(t) is t


@pytest.mark.parametrize("function", [
    "clone", "square", "positive", "reshape", "flatten", "permute", "squeeze", "unsqueeze",
    "max", "min", "zeros_like", "ones_like", "rand_like", "randn_like", "full_like",
    "empty_like", "numel", "is_floating_point", "bernoulli", "poisson", "randint_like"])
@pytest.mark.parametrize("value", ["None", "'a'"])
def test_a_non_tensor_input_is_a_type_error(function, value):
    args = {"reshape": ", -1", "permute": ", 0", "unsqueeze": ", 0", "full_like": ", 1.0",
            "randint_like": ", 3"}.get(function, "")
    compare(f"L.{function}({value}{args})")


@pytest.mark.parametrize("code", [
    "L.mm(L.ones(2, 2), 3)", "L.bmm(L.ones(1, 2, 2), 'a')", "L.flip(L.tensor(2.5), (0,))",
    "L.sort(L.tensor(2.5), 1)", "L.argsort(L.tensor(2.5), 5)", "L.sort(L.tensor(2.5), 0)",
    "L.poisson(L.tensor(2.5)).shape", "L.bernoulli(L.ones(0), 5)", "L.bernoulli(L.ones(2), 0.5).shape",
    "F.max_pool1d(None, 2)", "F.avg_pool1d('a', 2)", "F.embedding(L.tensor([0]), None)"])
def test_more_bad_arguments(code):
    compare(code)


@pytest.mark.parametrize("method", ["view_as", "expand_as", "reshape_as", "type_as"])
@pytest.mark.parametrize("other", ["None", "'a'", "1.5", "[0, 1]"])
def test_as_methods_need_a_tensor(method, other):
    compare(f"x.{method}({other})", X)
