"""Bitwise ops (minicnn.ops.bitwise) against PyTorch: values and dtypes for bool and integer
tensors, Python scalars on either side, in place, and the float error."""
from __future__ import annotations

import operator

import numpy as np
import pytest

import minicnn as mc
from oracle import torch_or_skip

OPERATORS = [operator.and_, operator.or_, operator.xor]
SHIFTS = [operator.lshift, operator.rshift]
VALUES = {"bool": np.array([[True, False, True], [False, False, True]]),
          "int64": np.array([[6, -5, 0], [1, 12, 7]]),
          "int32": np.array([3, 9, -2], dtype=np.int32)}


def _pair(torch, value):
    return mc.from_numpy(value.copy()), torch.from_numpy(value.copy())


@pytest.mark.oracle
@pytest.mark.parametrize("op", OPERATORS, ids=lambda o: o.__name__)
@pytest.mark.parametrize("left, right", [("bool", "bool"), ("int64", "int64"),
                                         ("bool", "int64"), ("int32", "int64")])
def test_binary_operators_match_pytorch(op, left, right):
    torch = torch_or_skip()
    a, ta = _pair(torch, VALUES[left])
    b, tb = _pair(torch, VALUES[right])
    ours, theirs = op(a, b), op(ta, tb)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    for scalar in (True, 3):
        if left == "bool" and scalar == 3:
            continue
        np.testing.assert_array_equal(op(a, scalar).numpy(), op(ta, scalar).numpy())
        np.testing.assert_array_equal(op(scalar, a).numpy(), op(scalar, ta).numpy())


@pytest.mark.oracle
def test_not_shifts_and_in_place_match_pytorch():
    torch = torch_or_skip()
    for value in VALUES.values():
        a, ta = _pair(torch, value)
        np.testing.assert_array_equal((~a).numpy(), (~ta).numpy())
    a, ta = _pair(torch, np.array([1, 4, 9]))
    for op in SHIFTS:
        np.testing.assert_array_equal(op(a, 2).numpy(), op(ta, 2).numpy())
        np.testing.assert_array_equal(op(a, mc.tensor([0, 1, 2])).numpy(),
                                      op(ta, torch.tensor([0, 1, 2])).numpy())
    mask, tmask = _pair(torch, VALUES["bool"][0])
    mask &= mc.tensor([True, True, False])
    tmask &= torch.tensor([True, True, False])
    mask |= mc.tensor([False, True, False])
    tmask |= torch.tensor([False, True, False])
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    assert mask.bitwise_xor_(mc.tensor([True, True, True])) is mask


def test_mask_combinations_select_as_expected():
    x = mc.tensor([-1.0, 0.5, 2.0, 0.25])
    inside = (x > 0) & (x < 1)
    assert inside.tolist() == [False, True, False, True] and inside.dtype == np.bool_
    assert (~inside).tolist() == [True, False, True, False]
    assert x[inside].tolist() == [0.5, 0.25]


def test_float_operands_and_bad_shapes_are_refused_by_name():
    with pytest.raises(TypeError, match="bitwise_and: input: .*float32"):
        mc.ones(2) & mc.tensor([True, False])
    with pytest.raises(TypeError, match="bitwise_or: other: expected a bool or integer"):
        mc.tensor([True]) | 1.5
    with pytest.raises(ValueError, match="bitwise_xor: shapes"):
        mc.tensor([True, False]) ^ mc.tensor([True, False, True])
