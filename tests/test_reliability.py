"""Reliability (issue 13): no damaged file loads as something else, every mistake is one
clear error naming the file or the argument.

* checkpoints: every single-bit flip of a small checkpoint either loads the identical
  content or raises ``ValueError`` naming the file; a damaged ``.npy`` header is caught
  against its member's size before anything is allocated; malformed manifests, foreign
  ZIP features and garbage inside valid files are ``ValueError``s too;
* saving: long file names, lone surrogates;
* ``TrainingRun.load``: ``strict=False`` tolerates and reports, a failed load changes
  nothing;
* ``read_idx``: dimensions that overflow or disagree with the file.

Arguments (layer constructors, ``cross_entropy``'s labels) are in ``test_layer_args.py``.
"""
from __future__ import annotations

import json
import os
import re
import struct
import zipfile

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn, optim
from minicnn.data import read_idx
from minicnn.serialization import _temporary_name, load, save
from minicnn.training import TrainingRun, read_checkpoint


# ---------------------------------------------------------------------------------------
# Checkpoints: single-bit flips
# ---------------------------------------------------------------------------------------
def _small_checkpoint():
    return {"w": mc.tensor(np.array([1.5, -2.0], np.float32), requires_grad=True), "n": 3}


def _is_small_checkpoint(value) -> bool:
    return (isinstance(value, dict) and list(value) == ["w", "n"]
            and type(value["n"]) is int and value["n"] == 3
            and isinstance(value["w"], mc.Tensor) and value["w"].requires_grad
            and value["w"].dtype == np.float32 and value["w"].shape == (2,)
            and value["w"].numpy().tolist() == [1.5, -2.0])


def _flipped_load(descriptor: int, path: str, data: bytes, bit: int):
    """(what load returns, or the exception it raises) with one bit of the file flipped."""
    position = bit // 8
    os.pwrite(descriptor, bytes([data[position] ^ (1 << (bit % 8))]), position)
    try:
        return load(path), None
    except Exception as error:  # noqa: BLE001 - judged by the caller
        return None, error
    finally:
        os.pwrite(descriptor, data[position:position + 1], position)


def test_every_single_bit_flip_loads_identically_or_raises_value_error(tmp_path):
    """Each bit of the file flipped in turn (about 5000 loads, a few seconds)."""
    path = str(tmp_path / "flipped.ckpt")
    save(_small_checkpoint(), path)
    with open(path, "rb") as stream:
        data = stream.read()
    assert len(data) < 700, "keep the exhaustive test small"
    identical, failures = 0, []
    descriptor = os.open(path, os.O_WRONLY)  # one byte rewritten in place per flip: fast
    try:
        bits = [(bit, _flipped_load(descriptor, path, data, bit)) for bit in
                range(len(data) * 8)]
    finally:
        os.close(descriptor)
    for bit, (value, error) in bits:
        if isinstance(error, ValueError):
            if path not in str(error):
                failures.append(f"bit {bit}: ValueError without the file name: {error}")
        elif error is not None:
            failures.append(f"bit {bit}: {type(error).__name__}: {error}")
        elif _is_small_checkpoint(value):
            identical += 1  # a flip in a field zipfile does not use (a time stamp, ...)
        else:
            failures.append(f"bit {bit}: loaded something else: {value!r}")
    assert not failures, f"{len(failures)} bad flips, e.g.: " + "; ".join(failures[:5])
    assert 0 < identical < len(data) * 8 // 2  # most flips are caught, a few are harmless


def _flip_header(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    assert bin(int.from_bytes(old, "big") ^ int.from_bytes(new, "big")).count("1") == 1
    return data.replace(old, new)


def test_header_shape_flip_on_a_large_array_is_caught(tmp_path):
    """(100, 100) -> (100, 10 ) is one bit ('0' 0x30 -> ' ' 0x20). It once loaded a
    (100, 10) weight: the member was read short, so its CRC-32 was never checked."""
    path = tmp_path / "big.ckpt"
    save({"weight": np.arange(10000, dtype=np.float64).reshape(100, 100)}, path)
    path.write_bytes(_flip_header(path.read_bytes(), b"(100, 100)", b"(100, 10 )"))
    with pytest.raises(ValueError, match=r"big\.ckpt.*shape \(100, 10\).*8000 bytes.*80000"):
        load(path)


def _archive(path, members: dict, manifest_tree=None, compression=zipfile.ZIP_STORED):
    """A hand-made checkpoint archive (valid ZIP, valid CRCs), to test the checks that
    do not rely on a CRC mismatch."""
    tree = manifest_tree if manifest_tree is not None else {
        "type": "ndarray", "file": next(iter(members))}
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("manifest.json", json.dumps(
            {"format": "minicnn-checkpoint", "version": 1, "tree": tree}))
        for name, content in members.items():
            archive.writestr(name, content)


def _npy(header: str, data: bytes = b"", version=(1, 0)) -> bytes:
    text = header.encode("latin-1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    length = struct.pack("<H" if version == (1, 0) else "<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text + data


@pytest.mark.parametrize("header, message", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (100, 10), }",
     r"shape \(100, 10\) of float64 \(8000 bytes of data\) but holds 80000"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
     r"shape \(1099511627776,\).*8796093022208 bytes"),  # 2**40 elements: no MemoryError
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2**40,), }", "not a Python literal"),
    ("{'descr': '<f8', 'fortran_order': 0, 'shape': (10000,), }", "fortran_order is 0"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 10), }", "non-negative ints"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (10000,), 'x': 1}", "is not a dict"),
    ("{'descr': 'garbage', 'fortran_order': False, 'shape': (10000,), }", "is not a dtype"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (10000,), }", "Python objects"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (10000,), \x00}", "not a Python"),
    ("[1, 2, 3]", "is not a dict"),
])
def test_npy_headers_are_checked_before_allocating(tmp_path, header, message):
    path = tmp_path / "crafted.ckpt"
    _archive(path, {"arrays/w.npy": _npy(header, bytes(80000))})
    with pytest.raises(ValueError, match=r"crafted\.ckpt: arrays/w\.npy .*" + message):
        load(path)


@pytest.mark.parametrize("member, message", [
    (b"\x93NUMPY\x09\x00" + bytes(20), "unknown .npy format version 9.0"),
    (b"\x93NUMPY\x01\x00\xff\xff" + bytes(20), "header length 65535 does not fit"),
    (b"\x93NUMP", "does not start with the .npy magic"),
    (b"", "does not start with the .npy magic"),
])
def test_npy_framing_errors(tmp_path, member, message):
    path = tmp_path / "framing.ckpt"
    _archive(path, {"arrays/w.npy": member})
    with pytest.raises(ValueError, match=r"framing\.ckpt.*" + message):
        load(path)


@pytest.mark.parametrize("tree, message", [
    ({"type": "int", "value": "abc"}, "should be an integer"),
    ({"type": "int", "value": True}, "should be an integer"),
    ({"type": "bool", "value": 3}, "should be true or false"),
    ({"type": "float", "value": "fast"}, "expected a number or 'nan'"),
    ({"type": "str"}, "has no 'value'"),
    ({"type": "list", "items": {"a": 1}}, "should be a list"),
    ({"type": "dict", "items": [[{"type": "list", "items": []}, {"type": "none"}]]},
     "dict key .* is not a str, int, float, bool or None node"),
    ({"type": "dict", "items": [[{"type": "none"}]]}, r"is not a \[key, value\] pair"),
    ({"type": "complex"}, "unknown node type 'complex'"),
    ({"value": 3}, "expected a node with a 'type'"),
    ([1, 2], "expected a node with a 'type'"),
    ({"type": "ndarray", "file": 7}, "should be a member name"),
    ({"type": "ndarray", "file": "arrays/none.npy"}, "not in the archive"),
    ({"type": "numpy_scalar", "file": "arrays/w.npy"}, r"0-d array .* shape \(3,\)"),
    ({"type": "tensor", "file": "arrays/i.npy", "requires_grad": True}, "cannot require"),
    ({"type": "tensor", "file": "arrays/w.npy", "requires_grad": "yes"}, "requires_grad"),
])
def test_malformed_manifest_values_name_the_file(tmp_path, tree, message):
    path = tmp_path / "manifest.ckpt"
    members = {"arrays/w.npy": _npy("{'descr': '<f8', 'fortran_order': False, "
                                    "'shape': (3,), }", bytes(24)),
               "arrays/i.npy": _npy("{'descr': '<i8', 'fortran_order': False, "
                                    "'shape': (3,), }", bytes(24))}
    _archive(path, members, tree)
    with pytest.raises(ValueError, match=r"manifest\.ckpt: .*" + message):
        load(path)


def test_deep_manifest_and_bad_versions_name_the_file(tmp_path):
    path = tmp_path / "deep.ckpt"
    def write(depth):
        tree = '{"type": "list", "items": [' * depth + '{"type": "none"}' + "]}" * depth
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("manifest.json", '{"format": "minicnn-checkpoint", "version": 1, '
                             f'"tree": {tree}}}')

    write(50)
    value = load(path)
    for _ in range(50):
        (value,) = value
    assert value is None
    write(50000)  # deeper than save and load go (serialization.MAX_DEPTH)
    with pytest.raises(ValueError, match=r"deep\.ckpt: .*(nested too deeply|not valid JSON)"):
        load(path)
    for version in (True, "1", 1.0, None):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("manifest.json", json.dumps(
                {"format": "minicnn-checkpoint", "version": version, "tree": {"type": "none"}}))
        with pytest.raises(ValueError, match=r"deep\.ckpt has format version"):
            load(path)


def test_zip_features_minicnn_never_writes_are_refused(tmp_path):
    path = tmp_path / "zip.ckpt"
    save({"w": np.arange(5.0)}, path)
    data = path.read_bytes()
    central = data.rindex(b"PK\x01\x02")  # the last member's central directory entry
    for offset, value, message in [(8, 0x01, "is marked encrypted"),
                                   (8, 0x40, "ZIP features minicnn does not read"),
                                   (10, 0x0E, "compression method 14"),
                                   (10, 0x08, "corrupt")]:  # says deflated, is not
        damaged = bytearray(data)
        damaged[central + offset] = value
        path.write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match=r"zip\.ckpt.*" + message):
            load(path)


def test_members_the_manifest_does_not_name_are_crc_checked_too(tmp_path):
    path = tmp_path / "extra.ckpt"
    _archive(path, {"arrays/w.npy": _npy("{'descr': '<f8', 'fortran_order': False, "
                                         "'shape': (1,), }", bytes(8)),
                    "README.txt": b"hello, this member is not in the manifest"})
    assert load(path).shape == (1,)
    data = bytearray(path.read_bytes())
    data[data.index(b"hello")] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"extra\.ckpt: README\.txt is corrupt.*CRC"):
        load(path)


def test_what_numpy_writes_still_loads(tmp_path):
    """Other .npy versions, Fortran order, structured and text dtypes, empty arrays, and
    an archive repacked with deflate."""
    arrays = {"v2": (np.arange(6.0).reshape(2, 3), (2, 0)),
              "v3": (np.array(["ü", "ab"]), (3, 0)),
              "fortran": (np.asfortranarray(np.arange(12).reshape(3, 4)), None),
              "record": (np.zeros(3, dtype=[("x", "<f4"), ("y", ">i2")]), None),
              "empty": (np.zeros((0, 5), np.float32), None),
              "big_endian": (np.arange(4, dtype=">f8"), None)}
    members, tree_items = {}, []
    for key, (array, version) in arrays.items():
        with open(tmp_path / "m.npy", "wb") as stream:
            np.lib.format.write_array(stream, array, version=version)
        members[f"arrays/{key}.npy"] = (tmp_path / "m.npy").read_bytes()
        tree_items.append([{"type": "str", "value": key},
                           {"type": "ndarray", "file": f"arrays/{key}.npy"}])
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        path = tmp_path / f"numpy-{compression}.ckpt"
        _archive(path, members, {"type": "dict", "items": tree_items}, compression)
        back = load(path)
        for key, (array, _) in arrays.items():
            assert back[key].dtype == array.dtype and back[key].shape == array.shape
            np.testing.assert_array_equal(back[key], array)
            assert back[key].flags.writeable
        assert back["fortran"].flags.f_contiguous


def test_loading_to_a_bad_device_is_the_device_error_not_corruption(tmp_path):
    path = tmp_path / "ok.ckpt"
    save({"w": mc.zeros(2)}, path)
    with pytest.raises(ValueError, match="device") as info:
        load(path, device="tpu")
    assert "corrupt" not in str(info.value)


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("length", [250, 255])
def test_a_long_valid_file_name_saves(tmp_path, length):
    path = tmp_path / ("c" * length)
    save({"w": np.ones(3)}, path)
    np.testing.assert_array_equal(load(path)["w"], np.ones(3))
    assert sorted(os.listdir(tmp_path)) == ["c" * length]


@pytest.mark.parametrize("name", ["a", "run.ckpt", "x" * 32, "é" * 100, "y" * 255])
def test_the_temporary_name_is_never_longer_than_the_target(name):
    temporary = _temporary_name(name)
    assert len(os.fsencode(temporary)) <= max(len(os.fsencode(name)), 32)
    assert temporary.startswith(".") and temporary.endswith(".tmp") and temporary != name
    assert _temporary_name(name) != temporary  # random


@pytest.mark.parametrize("obj, where", [
    ({"name": "bad\ud800"}, r"obj\['name'\]"),
    ({"config": {"key\udc80": 1}}, r"the key 'key\\udc80' of obj\['config'\]"),
    ([["ok", "\udfff"]], r"obj\[0\]\[1\]"),
])
def test_a_lone_surrogate_is_a_type_error_naming_where(tmp_path, obj, where):
    with pytest.raises(TypeError, match=where + ".*lone surrogate"):
        save(obj, tmp_path / "text.ckpt")
    assert os.listdir(tmp_path) == []  # refused before anything was written


# ---------------------------------------------------------------------------------------
# TrainingRun.load
# ---------------------------------------------------------------------------------------
def _run(models: dict, folder) -> TrainingRun:
    optimizers = {name: optim.SGD(model.parameters(), lr=0.1) for name, model in models.items()}
    return TrainingRun(models=models, optimizers=optimizers,
                       checkpoint_path=os.path.join(folder, "run.ckpt"))


def test_non_strict_load_tolerates_and_reports_what_only_one_side_has(tmp_path):
    mc.manual_seed(0)
    saved = _run({"model": nn.Linear(3, 2), "gone": nn.Linear(2, 2)}, tmp_path)
    saved.step = 7
    saved.save()
    mc.manual_seed(1)
    other = _run({"model": nn.Linear(3, 2), "extra": nn.Linear(4, 1)}, tmp_path)
    extra_before = other.models["extra"].weight.numpy().copy()
    with pytest.raises(ValueError, match=r"run\.ckpt: the checkpoint's models are "
                                         r"\['gone', 'model'\], this run's are"):
        other.load()
    with pytest.warns(UserWarning, match=r"run\.ckpt: loaded with strict=False; not in the "
                                         r"checkpoint .*models\.extra.*optimizers\.extra.*"
                                         r"not in this run \(ignored\): models\.gone"):
        other.load(strict=False)
    assert other.step == 7
    np.testing.assert_array_equal(other.models["model"].weight.numpy(),
                                  saved.models["model"].weight.numpy())
    np.testing.assert_array_equal(other.models["extra"].weight.numpy(), extra_before)
    assert "models.extra" in other.incompatible.missing
    assert "models.gone" in other.incompatible.unexpected


def test_non_strict_load_reports_missing_model_keys_too(tmp_path):
    path = tmp_path / "run.ckpt"
    TrainingRun(models={"model": nn.Linear(3, 2, bias=False)}).save(path)
    other = TrainingRun(models={"model": nn.Linear(3, 2)})
    with pytest.raises(ValueError, match=r"run\.ckpt: models\['model'\]: .*Missing key.*bias"):
        other.load(path)
    with pytest.warns(UserWarning, match=r"models\.model\.bias"):
        other.load(path, strict=False)
    assert other.incompatible.missing == ["models.model.bias"]
    assert other.incompatible.unexpected == []


def test_a_failed_load_leaves_the_run_as_it_was(tmp_path):
    mc.manual_seed(0)
    saved = _run({"model": nn.Linear(3, 2), "head": nn.Linear(2, 5)}, tmp_path)
    saved.step = 9
    saved.save()
    mc.manual_seed(1)
    other = _run({"model": nn.Linear(3, 2), "head": nn.Linear(2, 4)}, tmp_path)  # 5 != 4
    other.step = 2
    before = {name: model.weight.numpy().copy() for name, model in other.models.items()}
    with pytest.raises(ValueError, match=r"run\.ckpt: models\['head'\]: .*size mismatch"):
        other.load()
    assert other.step == 2
    for name, model in other.models.items():  # 'model' had been copied in: undone
        np.testing.assert_array_equal(model.weight.numpy(), before[name])


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("rng"), "has no 'rng' entry"),
    (lambda s: s["rng"].pop("generators"), "has no 'rng.generators' entry"),
    (lambda s: s.update(step="many"), "step is 'many'"),
    (lambda s: s.update(epoch=-1), "epoch is -1"),
    (lambda s: s.update(models=[1, 2]), "models entry is a list"),
    (lambda s: s.update(version=True), "version True"),
    (lambda s: s.update(version=2), "version 2"),
    (lambda s: s["models"].update(model={"weight": "text"}), r"models\['model'\]"),
    (lambda s: s.update(history={"loss": 3}), "TypeError"),
    (lambda s: s["optimizers"].update(model=3), r"optimizers\['model'\]: TypeError"),
    (lambda s: s["rng"].update(minicnn=5), "rng.minicnn: TypeError"),
])
def test_garbage_inside_a_valid_file_is_one_value_error_naming_it(tmp_path, change, message):
    run = _run({"model": nn.Linear(3, 2)}, tmp_path)
    state = run.state_dict()
    change(state)
    save(state, tmp_path / "garbage.ckpt")
    with pytest.raises(ValueError, match=r"garbage\.ckpt: .*" + message):
        run.load(tmp_path / "garbage.ckpt")


def test_damaged_and_foreign_files_through_training_run(tmp_path):
    run = _run({"model": nn.Linear(3, 2)}, tmp_path)
    run.save()
    data = bytearray(open(run.checkpoint_path, "rb").read())
    data[len(data) // 3] ^= 0x10
    (tmp_path / "bad.ckpt").write_bytes(bytes(data))
    for reader in (run.load, read_checkpoint):
        with pytest.raises(ValueError, match=r"bad\.ckpt"):
            reader(tmp_path / "bad.ckpt")
    state = run.state_dict()
    state["version"] = 99
    save(state, tmp_path / "future.ckpt")
    with pytest.raises(ValueError, match=r"future\.ckpt: training checkpoint version 99"):
        read_checkpoint(tmp_path / "future.ckpt")


# ---------------------------------------------------------------------------------------
# read_idx
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dims, data", [
    ((65536, 65536, 65536, 65536), b""),      # 2**64 items: int64 wraps around to 0
    ((2 ** 32 - 1,) * 3, bytes(10)),
    ((3, 4), bytes(11)),
    ((3, 4), bytes(13)),
    ((1,) * 70, bytes(1)),                     # more dimensions than NumPy's 64
])
def test_idx_dimensions_that_overflow_or_disagree_name_the_file_and_dims(tmp_path, dims, data):
    path = tmp_path / "images-idx-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
                     + data)
    with pytest.raises(ValueError, match=r"images-idx-ubyte\b.*" + re.escape(repr(dims))):
        read_idx(path)
