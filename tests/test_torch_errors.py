"""Issue 12 item 7: where minicnn differs from PyTorch on purpose, the error says what
PyTorch does and what to write instead; and the idioms whose old failures misled
('int' object is not callable from x.data.size(0), iteration over a 0-d tensor)."""
from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from minicnn.autograd import Variable
from minicnn.nn import Parameter
from oracle import torch_or_skip


@pytest.mark.parametrize("name,advice", [
    ("storage", "x.array"), ("pin_memory", r"leave .pin_memory\(\) out"),
    ("bfloat16", r"\.half\(\)")])
def test_absent_pytorch_attributes_say_what_to_write(name, advice):
    x = mc.ones(2, requires_grad=True) * 2
    with pytest.raises(AttributeError, match=f"no attribute '{name}' \\(PyTorch's Tensor has "
                                             f"it; .*{advice}"):
        getattr(x, name)


def test_other_missing_attributes_are_plain_attribute_errors():
    x = mc.ones(2)
    with pytest.raises(AttributeError, match=r"^'Tensor' object has no attribute 'nonsense'$"):
        x.nonsense
    assert getattr(x, "_private_missing", None) is None and not hasattr(x, "nonsense")
    with pytest.raises(AttributeError, match="'Parameter' object"):
        Parameter(mc.ones(1)).nonsense


def test_memory_layout_methods_as_pytorch():
    torch = torch_or_skip()
    a = np.arange(12.0).reshape(3, 4)
    ours, theirs = mc.from_numpy(a), torch.from_numpy(a)
    assert ours.stride() == theirs.stride() and ours.T.stride() == theirs.T.stride()
    assert ours.stride(1) == theirs.stride(1) == 1
    assert ours.is_contiguous() and not ours.T.is_contiguous()
    assert ours.data_ptr() == ours.data.data_ptr() == theirs.data_ptr()
    assert ours.get_device() == theirs.get_device() == -1


def test_data_is_a_tensor_so_the_pytorch_idioms_of_issue_12_work():
    x = mc.ones(4, 3)
    assert x.data.size(0) == 4 and x.data.numpy().shape == (4, 3)


def test_iteration_gives_rows_and_refuses_a_0d_tensor():
    x = mc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    (rows[1] * 2).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [2.0, 2.0]]
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(mc.tensor(3.0))


def test_legacy_constructor_errors_say_what_to_write():
    with pytest.raises(TypeError, match=r"for one number write mc.tensor\(x\) \(PyTorch raises"):
        mc.Tensor(3.5)
    with pytest.raises(TypeError, match="Variable: data: expected a Tensor.*mc.from_numpy"):
        Variable([1.0])
    with pytest.raises(TypeError, match=r"from_numpy: expected a numpy.ndarray.*mc.tensor"):
        mc.from_numpy([1.0])
    with pytest.raises(ValueError, match="'mps'.*no counterpart"):
        mc.device("mps")


def test_layer_settings_minicnn_lacks_say_what_pytorch_has():
    with pytest.raises(ValueError, match="max_norm, scale_grad_by_freq and sparse are not "
                                         "supported by minicnn"):
        nn.Embedding(3, 2, sparse=True)
    with pytest.raises(ValueError, match=r"F.pad\(x, \(p, p\), mode=...\) first"):
        nn.Conv1d(1, 1, 3, padding_mode="reflect")
