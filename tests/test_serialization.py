"""mc.save / mc.load: round trips, the documented format, atomic writes, clear errors."""
from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np
import pytest

import minicnn as mc
from minicnn import serialization
from minicnn.serialization import load, save


def _checkpoint():
    generator = np.random.default_rng(7)
    generator.random(3)
    return {
        "model": {
            "conv1.weight": mc.tensor(np.arange(6, dtype=np.float32).reshape(2, 3),
                                      requires_grad=True),
            "conv1.bias": mc.tensor(np.zeros(2), dtype="float64"),
            "bn.num_batches_tracked": mc.tensor(np.array(5, dtype=np.int64)),
        },
        "optimizer": {
            "state": {0: {"step": np.int64(3), "exp_avg": np.full((2, 3), 0.5)},
                      1: {"step": np.int64(3), "exp_avg": np.zeros(2, np.float16)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                              "nesterov": False, "name": "default", "foreach": None}],
        },
        "rng": generator.bit_generator.state,
        "step": 1234,
        "big": 2**100,
        "loss": float("nan"),
        "limits": [float("inf"), -float("inf"), 0.1, -0.0],
        "numpy_scalars": [np.float32(0.25), np.float64(0.1), np.bool_(True), np.uint8(200)],
        "keys": {1.5: "float key", None: "none key", True: "bool key", "": "empty"},
        "text": "ünïcode ✓",
        "empty": {"list": [], "dict": {}, "tuple": ()},
        "array_kinds": [np.array(["a", "bc"]), np.array([True, False]),
                        np.arange(12).reshape(3, 4).T, np.array(3.5), np.zeros((0, 4))],
    }


def _assert_same(a, b, where="obj"):
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, mc.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad, where
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    elif isinstance(a, float):
        assert a == b and math.copysign(1, a) == math.copysign(1, b), where
    else:
        assert a == b, where
        if isinstance(a, np.generic):
            assert a.dtype == b.dtype, where


def test_round_trip_keeps_types_values_and_order(tmp_path):
    obj = _checkpoint()
    path = tmp_path / "run.ckpt"
    save(obj, path)
    _assert_same(obj, load(path))
    loaded = load(str(path))
    assert isinstance(loaded["model"]["conv1.bias"], mc.Tensor)
    assert loaded["model"]["conv1.bias"].dtype == np.float64  # float64 not cast to float32
    # the RNG state restores a generator exactly
    generator = np.random.default_rng()
    generator.bit_generator.state = loaded["rng"]
    reference = np.random.default_rng(7)
    reference.random(3)
    np.testing.assert_array_equal(generator.random(5), reference.random(5))


def test_top_level_values(tmp_path):
    for value in [mc.tensor([1.0, 2.0]), np.eye(2), 3, "x", None, [1, 2], (1,), True]:
        save(value, tmp_path / "v")
        _assert_same(value, load(tmp_path / "v"))


def test_file_is_the_documented_zip_with_manifest_and_npy(tmp_path):
    path = tmp_path / "model.ckpt"
    save({"model": {"w": mc.tensor(np.ones((2, 2), np.float32))}, "lr": 0.5}, path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert names == ["manifest.json", "arrays/model/w.npy"]
    assert manifest["format"] == "minicnn-checkpoint" and manifest["version"] == 1
    assert manifest["tree"]["items"][1] == [{"type": "str", "value": "lr"},
                                            {"type": "float", "value": 0.5}]
    # readable without minicnn, and no pickle anywhere
    np.testing.assert_array_equal(np.load(path, allow_pickle=False)["arrays/model/w"],
                                  np.ones((2, 2), np.float32))
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"


def test_awkward_keys_get_distinct_array_files(tmp_path):
    obj = {"a/b": np.zeros(1), "a_b": np.ones(1), "..": np.full(1, 2.0), "a?b": np.full(1, 3.0)}
    save(obj, tmp_path / "k")
    _assert_same(obj, load(tmp_path / "k"))


def test_unsupported_values_are_rejected_before_writing(tmp_path):
    path = tmp_path / "bad.ckpt"
    with pytest.raises(TypeError, match=r"obj\['config'\]\['callback'\].*function"):
        save({"config": {"callback": lambda: 0}}, path)
    with pytest.raises(TypeError, match="objects"):
        save({"x": np.array([{}, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="key of type tuple"):
        save({(1, 2): 3}, path)
    cyclic = {"a": []}
    cyclic["a"].append(cyclic)
    with pytest.raises(ValueError, match="cycle"):
        save(cyclic, path)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_crash_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.ckpt"
    save({"step": 1, "w": np.zeros(1000)}, path)
    before = path.read_bytes()

    calls = []

    def dying_write(stream, array):
        calls.append(1)
        stream.write(b"\x93NUMPY partial bytes")
        raise KeyboardInterrupt("simulated crash in the middle of a write")

    monkeypatch.setattr(serialization, "_write_array", dying_write)
    with pytest.raises(KeyboardInterrupt):
        save({"step": 2, "w": np.ones(1000)}, path)
    assert calls, "the crash was not simulated"
    assert path.read_bytes() == before
    assert load(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]  # no temporary left


def test_crash_before_rename_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.ckpt"
    save({"step": 1}, path)

    def failing_replace(source, target):
        raise OSError("disk vanished")

    monkeypatch.setattr(serialization.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk vanished"):
        save({"step": 2}, path)
    monkeypatch.undo()
    assert load(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]


def test_save_fsyncs_before_replacing(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(serialization.os, "fsync",
                        lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(serialization.os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    save({"x": 1}, tmp_path / "c")
    assert events[:2] == ["fsync", "replace"]


@pytest.mark.parametrize("keep", [0, 1, 10, 100, 0.5, -1, -22])
def test_truncated_file_raises_value_error_naming_it(tmp_path, keep):
    path = tmp_path / "run.ckpt"
    save(_checkpoint(), path)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (
        len(data) + keep if keep < 0 else keep)
    path.write_bytes(data[:cut])
    with pytest.raises(ValueError, match=r"run\.ckpt.*(truncated|corrupt)"):
        load(path)


def test_corrupt_array_bytes_fail_the_crc_check(tmp_path):
    path = tmp_path / "run.ckpt"
    save({"w": np.arange(1000, dtype=np.float64)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"run\.ckpt.*corrupt"):
        load(path)


def test_foreign_files_raise_value_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt is not a minicnn checkpoint"):
        load(text)
    npz = tmp_path / "plain.npz"
    np.savez(npz, a=np.zeros(2))
    with pytest.raises(ValueError, match=r"plain\.npz is a ZIP archive but not a minicnn"):
        load(npz)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match=r"other\.zip is not a minicnn checkpoint"):
        load(other)
    future = tmp_path / "future.ckpt"
    with zipfile.ZipFile(future, "w") as archive:
        archive.writestr("manifest.json", json.dumps(
            {"format": "minicnn-checkpoint", "version": 99, "tree": {"type": "none"}}))
    with pytest.raises(ValueError, match=r"future\.ckpt has format version 99"):
        load(future)
    missing = tmp_path / "missing.ckpt"
    with zipfile.ZipFile(missing, "w") as archive:
        archive.writestr("manifest.json", json.dumps(
            {"format": "minicnn-checkpoint", "version": 1,
             "tree": {"type": "ndarray", "file": "arrays/w.npy"}}))
    with pytest.raises(ValueError, match=r"missing\.ckpt.*arrays/w\.npy.*not in the archive"):
        load(missing)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing-here.ckpt")


def test_pickled_npy_member_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(
            {"format": "minicnn-checkpoint", "version": 1,
             "tree": {"type": "ndarray", "file": "arrays/x.npy"}}))
        with archive.open("arrays/x.npy", "w") as member:
            np.lib.format.write_array(member, np.array([{"a": 1}], dtype=object),
                                      allow_pickle=True)
    with pytest.raises(ValueError, match=r"evil\.ckpt.*arrays/x\.npy is not a valid"):
        load(path)


def test_a_pytorch_checkpoint_is_refused_naming_the_way_round(tmp_path):
    from oracle import torch_or_skip

    torch = torch_or_skip()
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(ValueError, match="PyTorch checkpoint.*safetensors"):
        mc.load(path)
