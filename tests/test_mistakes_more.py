"""More mistakes a user makes, each answered by an error that names what was wrong; and
``save``/``load`` through file objects, as ``torch.save(obj, buffer)``."""
from __future__ import annotations

import io

import numpy as np
import pytest

import minicnn as mc


def test_save_and_load_through_a_file_object():
    buffer = io.BytesIO()
    buffer.write(b"head")                        # written at the stream's position
    state = {"w": mc.randn(3, 2), "step": 7, "names": ["a", "b"]}
    mc.save(state, buffer)
    buffer.seek(4)
    loaded = mc.load(buffer)
    np.testing.assert_array_equal(loaded["w"].numpy(), state["w"].numpy())
    assert loaded["step"] == 7 and loaded["names"] == ["a", "b"]
    damaged = io.BytesIO(buffer.getvalue()[4:-12])
    with pytest.raises(ValueError, match="load: <stream>"):
        mc.load(damaged)


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(IsADirectoryError, match="save: .* is a folder; expected a file name"):
        mc.save({"a": 1}, tmp_path)
    with pytest.raises(IsADirectoryError, match="load: .* is a folder; expected a checkpoint"):
        mc.load(tmp_path)
    assert list(tmp_path.iterdir()) == []          # no temporary left behind


def test_sizes_are_checked_naming_the_argument():
    with pytest.raises(ValueError, match=r"negative dimension -1: \[-1, 2\]"):
        mc.randn(-1, 2)
    with pytest.raises(TypeError, match="sequence of ints.*float"):
        mc.zeros(2.5)
    assert mc.zeros(mc.tensor(2), 3).shape == (2, 3) and mc.ones(()).shape == ()


def test_an_unknown_device_or_dtype_in_to_is_named():
    with pytest.raises(ValueError, match="expected a device .* or a dtype, got 'tpu'"):
        mc.ones(2).to("tpu")
    assert mc.ones(2).to("float64").dtype == np.float64


def test_only_0d_tensors_format_as_numbers():
    assert f"{mc.tensor(2.0) / 3:.3f}" == "0.667" and f"{mc.tensor(5):03d}" == "005"
    assert f"{mc.ones(2)}" == str(mc.ones(2))
    with pytest.raises(TypeError, match=r"only 0-d tensors format as numbers"):
        f"{mc.ones(2):.2f}"
