"""Files at the library level: every failure to write names the file asked for (never a
temporary), a foreign file is named for what it is, devices and FIFOs are refused before
they are read, and ``torch.save``/``torch.load``'s arguments and streams behave as there."""
import io
import os
import pickle

import numpy as np
import pytest

import minicnn as mc
from minicnn import safetensors as st


def _no_temporaries(folder) -> None:
    assert [name for name in os.listdir(folder) if name.endswith(".tmp")] == []


@pytest.mark.parametrize("write", ["save", "save_file"])
def test_a_failed_write_names_the_target_not_its_temporary(tmp_path, write):
    def do(path):
        if write == "save":
            mc.save({"w": mc.ones(2)}, path)
        else:
            st.save_file({"w": mc.ones(2)}, path)

    missing = tmp_path / "no" / "such" / "x.bin"
    with pytest.raises(FileNotFoundError) as info:
        do(missing)
    assert str(missing) in str(info.value) and ".tmp" not in str(info.value)
    assert "does not exist" in str(info.value)
    blocker = tmp_path / "file"
    blocker.write_text("a file")
    with pytest.raises(OSError) as info:
        do(blocker / "x.bin")
    assert str(blocker / "x.bin") in str(info.value) and ".tmp" not in str(info.value)
    too_long = tmp_path / ("a" * 300)
    with pytest.raises(OSError) as info:
        do(too_long)
    assert str(too_long) in str(info.value) and ".tmp" not in str(info.value)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        do(tmp_path)
    with pytest.raises(IsADirectoryError, match="names a folder"):
        do(str(tmp_path / "new") + "/")
    _no_temporaries(tmp_path)
    do(tmp_path / ("b" * 250))   # any name the folder takes, the temporary fits too
    _no_temporaries(tmp_path)


def test_paths_of_the_wrong_type_are_a_type_error_naming_the_argument(tmp_path):
    for bad in (5, None, 2.5, ["a"]):
        with pytest.raises(TypeError, match="save: f: expected a file name"):
            mc.save({"a": 1}, bad)
        with pytest.raises(TypeError, match="load: f: expected a file name"):
            mc.load(bad)
    path = os.fsencode(tmp_path / "bytes.ckpt")   # bytes paths work, as with open()
    mc.save({"a": 1}, path)
    assert mc.load(path) == {"a": 1}


def test_a_foreign_file_is_named_for_what_it_is(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with open(tmp_path / "p.pkl", "wb") as stream:
        pickle.dump({"a": 1}, stream)
    st.save_file({"w": mc.ones(2)}, tmp_path / "w.safetensors")
    (tmp_path / "c.json").write_text('{"format": "minicnn-checkpoint"}')
    (tmp_path / "empty.ckpt").write_bytes(b"")
    for name, says in (("a.npy", "NumPy .npy file"), ("p.pkl", "pickle file"),
                       ("w.safetensors", "minicnn.safetensors.load_file"),
                       ("c.json", "JSON or text file"), ("empty.ckpt", "empty file")):
        with pytest.raises(ValueError, match="not a minicnn checkpoint") as info:
            mc.load(tmp_path / name)
        assert name in str(info.value) and says in str(info.value), str(info.value)


def test_devices_and_fifos_are_refused_before_reading(tmp_path):
    if os.path.exists("/dev/zero"):   # never ends: reading it would fill the memory
        with pytest.raises(ValueError, match="/dev/zero is not a regular file"):
            mc.load("/dev/zero")
        with pytest.raises(ValueError, match="/dev/zero is not a regular file"):
            st.load_file("/dev/zero")
    if hasattr(os, "mkfifo"):         # opening a FIFO waits for a writer: never open it
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        with pytest.raises(ValueError, match="fifo is not a regular file"):
            mc.load(fifo)


def test_map_location_is_checked_at_once_and_takes_torch_names(tmp_path):
    path = tmp_path / "n.ckpt"
    mc.save({"step": 3}, path)   # no tensor: the device would never be looked at
    for bad in ("tpu", "cuda:7", {"cpu": "mps"}):
        with pytest.raises(ValueError, match="load: map_location"):
            mc.load(path, map_location=bad)
    mc.save({"w": mc.ones(2)}, path)
    for good in ("cpu", "cpu:0", mc.device("cpu"), {"cuda:0": "cpu"}):
        assert mc.load(path, map_location=good)["w"].device == "cpu"


def test_torch_save_and_load_arguments_are_taken(tmp_path):
    path = tmp_path / "t.ckpt"
    mc.save({"w": mc.ones(2)}, path, pickle_protocol=4, _use_new_zipfile_serialization=True)
    loaded = mc.load(path, map_location="cpu", weights_only=True, mmap=True,
                     pickle_module=None, encoding="latin1")
    assert loaded["w"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="map_locaton"):   # a typo is not swallowed
        mc.load(path, map_locaton="cpu")
    with pytest.raises(TypeError, match="mmap"):
        mc.load(path, mmap="yes")


def test_streams_as_torch_text_read_only_and_non_seekable(tmp_path):
    with pytest.raises(TypeError, match="text stream"):
        mc.save({"a": 1}, io.StringIO())
    with pytest.raises(TypeError, match="text stream"):
        mc.load(io.StringIO("PK"))
    path = tmp_path / "s.ckpt"
    mc.save({"a": mc.arange(3)}, path)
    with open(path, "rb") as stream, pytest.raises(TypeError, match="not open for writing"):
        mc.save({"a": 1}, stream)

    class Pipe(io.RawIOBase):   # a stream that cannot seek (a pipe, a socket)
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self.data.readinto(buffer)

    assert mc.load(Pipe(path.read_bytes()))["a"].tolist() == [0, 1, 2]


def test_safetensors_refuses_what_it_cannot_store_naming_the_key(tmp_path):
    for value, dtype in ((np.array([None, 1], dtype=object), "object"),
                         (np.array(["ab"]), "<U2"), (np.zeros(2, np.complex128), "complex128")):
        with pytest.raises(TypeError, match=rf"tensors\['bad'\].*{dtype}"):
            st.save_file({"good": mc.ones(1), "bad": value}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
    _no_temporaries(tmp_path)


def test_onnx_export_to_a_missing_folder_names_the_target(tmp_path):
    pytest.importorskip("onnx")
    target = tmp_path / "missing" / "model.onnx"
    with pytest.raises(FileNotFoundError) as info:
        mc.onnx.export(mc.nn.Linear(2, 3), (mc.randn(1, 2),), str(target))
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)


def test_a_loader_state_that_is_not_one_is_a_clear_error():
    from minicnn.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(np.zeros((6, 2), np.float32)), batch_size=2,
                        shuffle=True, seed=0)
    with pytest.raises(TypeError, match="load_state_dict: expected the dict"):
        loader.load_state_dict(5)
    with pytest.raises(ValueError, match="has no 'generator'"):
        loader.load_state_dict({"x": 1})
    state = loader.state_dict()
    for key, bad in (("batches_done", -1), ("epoch", 1.5), ("generator", {"state": 3})):
        with pytest.raises(ValueError, match="DataLoader.load_state_dict"):
            loader.load_state_dict({**state, key: bad})
    loader.load_state_dict(state)   # what state_dict() gave still loads


def test_write_idx_names_a_dimension_it_cannot_store(tmp_path):
    from minicnn.data import write_idx

    big = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), (2 ** 32, 0), (0, 0))
    with pytest.raises(ValueError, match="32 bits"):
        write_idx(tmp_path / "x.idx", big)


def test_onnx_export_never_freezes_an_input_dependent_value_silently():
    pytest.importorskip("onnx")
    from minicnn.onnx import UnsupportedOperatorError

    class ThroughNumpy(mc.nn.Module):
        def forward(self, x):
            return mc.tensor(x.numpy() * 2)

    class Partly(mc.nn.Module):
        def forward(self, x):
            return x * float(x.sum().item())

    for model in (ThroughNumpy(), Partly()):
        with pytest.raises(UnsupportedOperatorError, match="outside minicnn's ops"):
            mc.onnx.export(model, (mc.randn(2, 3),), io.BytesIO())

    class Buffer(mc.nn.Module):   # a constant of the model itself is fine
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", mc.ones(3))

        def forward(self, x):
            return x * self.scale

    mc.onnx.export(Buffer(), (mc.randn(2, 3),), io.BytesIO())


def test_onnx_export_arguments_are_checked_naming_them():
    pytest.importorskip("onnx")
    linear, x = mc.nn.Linear(2, 3), (mc.randn(1, 2),)
    with pytest.raises(ValueError, match="dynamic_axes: 'inptu' is not an input or output"):
        mc.onnx.export(linear, x, io.BytesIO(), input_names=["input"],
                       dynamic_axes={"inptu": {0: "batch"}})
    with pytest.raises(ValueError, match=r"dynamic_axes\['input'\]: axis 4"):
        mc.onnx.export(linear, x, io.BytesIO(), input_names=["input"],
                       dynamic_axes={"input": [4]})
    with pytest.raises(TypeError, match="input_names: expected non-empty strings"):
        mc.onnx.export(linear, x, io.BytesIO(), input_names=[1])
    for bad in (5, None):
        with pytest.raises(TypeError, match="f: expected a file name"):
            mc.onnx.export(linear, x, bad)


def test_pictures_refuse_what_they_cannot_show_and_never_leave_half_a_png(tmp_path,
                                                                          monkeypatch):
    from minicnn import viz

    grid = np.zeros((4, 1, 8, 8), np.float32)
    for images, error, says in ((np.full((2, 1, 4, 4), np.nan), ValueError, "NaN"),
                                (grid.astype(np.complex64), TypeError, "real numbers"),
                                (np.array([[["a"]]]), TypeError, "real numbers")):
        with pytest.raises(error, match=says):
            viz.save_image_grid(images, tmp_path / "g.png")
    with pytest.raises(ValueError, match="padding: expected an int >= 0"):
        viz.save_image_grid(grid, tmp_path / "g.png", padding=-1)
    with pytest.raises(TypeError, match="series: expected a dict"):
        viz.plot_curves([1.0, 2.0], tmp_path / "c.png")
    with pytest.raises(ValueError, match="matrix: expected finite counts"):
        viz.plot_confusion_matrix(np.full((2, 2), np.nan), tmp_path / "m.png")
    with pytest.raises(ValueError, match="at least one class"):
        viz.plot_confusion_matrix(np.zeros((0, 0)), tmp_path / "m.png")
    assert not os.listdir(tmp_path)
    viz.save_image_grid(grid, tmp_path / "g.png")
    before = (tmp_path / "g.png").read_bytes()

    def killed(*args, **kwargs):   # the drawing dies half-way: the old picture stays
        raise KeyboardInterrupt

    import matplotlib.image

    monkeypatch.setattr(matplotlib.image, "imsave", killed)
    with pytest.raises(KeyboardInterrupt):
        viz.save_image_grid(grid + 1, tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes() == before
    _no_temporaries(tmp_path)


def test_deep_nesting_round_trips_or_is_one_value_error(tmp_path):
    """torch.save pickles about 1000 levels; minicnn saves a few thousand, and refuses
    deeper with a ValueError (was a RecursionError from 300 levels on)."""
    import sys

    def nested(depth):
        root = current = []
        for _ in range(depth):
            current.append({"k": []})
            current = current[0]["k"]
        return root

    limit = sys.getrecursionlimit()
    mc.save(nested(1500), tmp_path / "deep.ckpt")
    value, depth = mc.load(tmp_path / "deep.ckpt"), 0
    while value:
        value, depth = value[0]["k"], depth + 1
    assert depth == 1500 and sys.getrecursionlimit() == limit
    with pytest.raises(ValueError, match="nested more deeply"):
        mc.save(nested(20000), tmp_path / "deeper.ckpt")
    assert not (tmp_path / "deeper.ckpt").exists() and sys.getrecursionlimit() == limit


def test_a_dataset_root_that_is_a_file_is_named(tmp_path):
    from minicnn.data import MNIST

    (tmp_path / "root").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="MNIST: root: .*root is a file"):
        MNIST(root=tmp_path / "root", download=True)


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "run.ckpt"
    mc.save({"step": 1}, path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        mc.save({"step": 2, "w": mc.ones(1000)}, path)
    assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
    monkeypatch.undo()
    assert mc.load(path) == {"step": 1}
    _no_temporaries(tmp_path)


def test_onnx_export_flattens_nested_outputs_as_torch(tmp_path):
    pytest.importorskip("onnx")

    class Nested(mc.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = mc.nn.Linear(2, 3)

        def forward(self, x):
            y = self.linear(x)
            return y, (y * 2, [y + 1])

    proto = mc.onnx.export(Nested(), (mc.randn(1, 2),), io.BytesIO())
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1", "output_2"]


def test_transforms_refuse_a_silent_division_by_zero_or_a_shape_change():
    from minicnn.data import transforms as T

    x = np.zeros((2, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.normalize(x, 0.5, 0.0)
    with pytest.raises(ValueError, match="one value per channel"):
        T.normalize(x, [0.1, 0.2], [1.0, 1.0])   # would have made (2, 2, 4, 4)
    with pytest.raises(ValueError, match="finite"):
        T.normalize(x, float("nan"), 1.0)
    with pytest.raises(ValueError, match="max_value"):
        T.scale(x, max_value=0)
    assert T.normalize(np.ones((2, 3, 2, 2), np.float32), [1, 1, 1], [1, 2, 4]).shape == \
        (2, 3, 2, 2)
