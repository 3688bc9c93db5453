"""minicnn.vision: torchvision's utils, transforms and datasets, and ``import torchvision``
under ``minicnn.as_torch``.

Values are checked against torchvision when it is installed, else against the formulas
torchvision documents (written out on small inputs), against Pillow (what torchvision
calls for PIL images) and against PyTorch's ``interpolate`` (what it calls for Tensors).
"""
from __future__ import annotations

import io

import numpy as np
import pytest

import minicnn as mc
from minicnn import as_torch
from minicnn.data import DataLoader, write_idx
from minicnn.vision import datasets, functional, transforms, utils

from oracle import torch_or_skip

def _pil():
    return pytest.importorskip("PIL.Image")


def _t(array, dtype=np.float32):
    return mc.tensor(np.asarray(array, dtype=dtype))


@pytest.fixture
def no_pillow(monkeypatch):
    """minicnn.vision as it behaves where Pillow is not installed."""
    from minicnn.vision import datasets as vision_datasets

    monkeypatch.setattr(functional, "pil_image_module", lambda: None)
    monkeypatch.setattr(vision_datasets, "pil_image_module", lambda: None)


# ---------------------------------------------------------------------------------------
# ToTensor, Normalize, ToPILImage
# ---------------------------------------------------------------------------------------
def test_to_tensor_scales_uint8_and_moves_channels_first():
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10   # (H, W, C)
    x = transforms.ToTensor()(pixels)
    assert isinstance(x, mc.Tensor) and x.shape == (3, 2, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), pixels.transpose(2, 0, 1).astype(np.float32)
                                  / np.float32(255))
    gray = transforms.ToTensor()(np.array([[0, 255], [51, 102]], dtype=np.uint8))
    np.testing.assert_array_equal(gray.numpy(), np.array([[[0, 1], [0.2, 0.4]]], np.float32))
    floats = transforms.ToTensor()(np.full((2, 2), 7.5, dtype=np.float64))   # kept, not scaled
    assert floats.dtype == np.float64 and floats.shape == (1, 2, 2)
    assert floats.numpy()[0, 0, 0] == 7.5
    with pytest.raises(TypeError, match="PIL image or a NumPy array"):
        transforms.ToTensor()(mc.zeros(1, 2, 2))


def test_to_tensor_of_pil_images():
    Image = _pil()
    pixels = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    x = transforms.ToTensor()(Image.fromarray(pixels))
    np.testing.assert_array_equal(x.numpy(), pixels.transpose(2, 0, 1) / np.float32(255))
    gray = transforms.ToTensor()(Image.fromarray(pixels[:, :, 0]))
    assert gray.shape == (1, 4, 5)
    as_uint8 = transforms.PILToTensor()(Image.fromarray(pixels))
    assert as_uint8.dtype == np.uint8
    np.testing.assert_array_equal(as_uint8.numpy(), pixels.transpose(2, 0, 1))


def test_normalize_per_channel_and_inplace():
    x = _t(np.arange(12).reshape(3, 2, 2))
    y = transforms.Normalize((1.0, 2.0, 3.0), (2.0, 4.0, 0.5))(x)
    expected = (np.arange(12).reshape(3, 2, 2) - np.array([1, 2, 3])[:, None, None]) \
        / np.array([2, 4, 0.5])[:, None, None]
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    assert y is not x and x.numpy()[0, 0, 0] == 0
    one = transforms.Normalize([0.5], [0.5])(_t([[[0.0, 0.5, 1.0]]]))
    np.testing.assert_array_equal(one.numpy(), [[[-1.0, 0.0, 1.0]]])
    same = transforms.Normalize([0.5], [0.5], inplace=True)(x)
    assert same is x and x.numpy()[0, 0, 0] == -1
    with pytest.raises(TypeError, match="float tensor"):
        transforms.Normalize([0], [1])(mc.tensor(np.zeros((1, 2, 2), np.uint8)))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        transforms.Normalize([0], [0])(_t(np.zeros((1, 2, 2))))
    with pytest.raises(TypeError, match="ToTensor"):
        transforms.Normalize([0], [1])(np.zeros((2, 2, 1), np.float32))


def test_to_pil_image_round_trip():
    _pil()
    x = _t(np.linspace(0, 1, 12).reshape(3, 2, 2))
    image = transforms.ToPILImage()(x)
    assert image.mode == "RGB" and image.size == (2, 2)
    # floats become uint8(x * 255), truncated, as torchvision
    np.testing.assert_array_equal(np.asarray(image),
                                  (x.numpy() * 255).astype(np.uint8).transpose(1, 2, 0))
    gray = transforms.ToPILImage()(_t(np.full((1, 3, 3), 0.5)))
    assert gray.mode == "L" and np.asarray(gray)[0, 0] == 127


def test_pillow_only_transforms_name_pillow_when_it_is_missing(no_pillow):
    with pytest.raises(ImportError, match="ToPILImage needs Pillow"):
        transforms.ToPILImage()
    with pytest.raises(ImportError, match="PILToTensor needs Pillow"):
        transforms.PILToTensor()
    with pytest.raises(ImportError, match="save_image needs Pillow"):
        utils.save_image(mc.zeros(2, 1, 3, 3), "x.png")


# ---------------------------------------------------------------------------------------
# Resize
# ---------------------------------------------------------------------------------------
def test_resize_sizes_follow_torchvision():
    image = np.zeros((20, 30), np.uint8)                # (H, W): the shorter side is H
    assert transforms.Resize(10)(image).shape == (10, 15)
    assert transforms.Resize([10])(image).shape == (10, 15)
    assert transforms.Resize((7, 9))(image).shape == (7, 9)
    assert transforms.Resize(11)(np.zeros((30, 20), np.uint8)).shape == (16, 11)  # int(16.5)
    assert transforms.Resize(10, max_size=12)(image).shape == (8, 12)
    x = mc.zeros(3, 20, 30)
    assert transforms.Resize(10)(x).shape == (3, 10, 15)
    assert transforms.Resize(28)(_t(np.zeros((1, 28, 28)))).shape == (1, 28, 28)
    same = np.zeros((28, 28), np.uint8)
    assert transforms.Resize(28)(same) is same           # already that size: unchanged


def test_resize_bilinear_exact_small_case():
    # 1 x 2 -> 1 x 4: output centres 0.25, 0.75, 1.25, 1.75 in input pixels
    x = _t([[[0.0, 4.0]]])
    np.testing.assert_allclose(transforms.Resize((1, 4))(x).numpy(), [[[0, 1, 3, 4]]])
    # shrinking 1 x 4 -> 1 x 2 with antialiasing: a triangle of half-width 2 around the
    # centre 1.0; pixels 0, 1, 2, 3 (centres 0.5 ... 3.5) weigh 0.75, 0.75, 0.25, 0
    y = transforms.Resize((1, 2))(_t([[[0.0, 4.0, 8.0, 12.0]]]))
    left = (0.75 * 0 + 0.75 * 4 + 0.25 * 8) / 1.75
    np.testing.assert_allclose(y.numpy()[0, 0], [left, 12 - left], rtol=1e-6)
    plain = transforms.Resize((1, 2), antialias=False)(_t([[[0.0, 4.0, 8.0, 12.0]]]))
    np.testing.assert_allclose(plain.numpy(), [[[2.0, 10.0]]])   # centres 0.5 and 2.5


@pytest.mark.parametrize("size", [(13, 17), (40, 9), (64, 64), 5])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_tensor_matches_pytorch_interpolate(size, antialias):
    torch = torch_or_skip()
    pixels = np.random.default_rng(1).standard_normal((3, 28, 21)).astype(np.float32)
    out = transforms.Resize(size, antialias=antialias)(mc.tensor(pixels))
    target = tuple(out.shape[-2:])
    expected = torch.nn.functional.interpolate(torch.tensor(pixels)[None], size=target,
                                               mode="bilinear", align_corners=False,
                                               antialias=antialias)[0]
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=2e-5)
    nearest = transforms.Resize(size, interpolation=transforms.InterpolationMode.NEAREST)
    expected = torch.nn.functional.interpolate(torch.tensor(pixels)[None], size=target,
                                               mode="nearest")[0]
    np.testing.assert_array_equal(nearest(mc.tensor(pixels)).numpy(), expected.numpy())


@pytest.mark.parametrize("size", [(64, 64), 32, (32, 40), (9, 13), (28, 5), (11, 70)])
def test_resize_uint8_array_computes_what_pillow_computes(size):
    """Pillow's filter and fixed point, exactly, for one-axis resizes and for growing (the
    MNIST-to-32/64 case). Shrinking both axes: recent Pillow (PR 9549) may run its vertical
    pass before the horizontal one, whose 8-bit intermediate then rounds differently: a
    pixel may differ by 1 grey level."""
    Image = _pil()
    rng = np.random.default_rng(2)
    for pixels in (rng.integers(0, 256, (28, 28), dtype=np.uint8),
                   rng.integers(0, 256, (19, 24, 3), dtype=np.uint8)):
        ours = transforms.Resize(size)(pixels)
        pillow = np.asarray(transforms.Resize(size)(Image.fromarray(pixels)))
        assert isinstance(ours, np.ndarray) and ours.dtype == np.uint8
        assert ours.shape == pillow.shape
        out_h, out_w = ours.shape[:2]
        in_h, in_w = pixels.shape[:2]
        if out_h >= in_h or out_w == in_w:
            np.testing.assert_array_equal(ours, pillow)
        else:
            assert np.abs(ours.astype(int) - pillow).max() <= 1
        nearest = transforms.Resize(size, interpolation=transforms.InterpolationMode.NEAREST)
        np.testing.assert_array_equal(nearest(pixels),
                                      np.asarray(nearest(Image.fromarray(pixels))))


def test_resize_one_axis_is_exactly_pillows_for_any_size():
    Image = _pil()
    rng = np.random.default_rng(3)
    for _ in range(40):
        height, width, new = (int(v) for v in rng.integers(1, 70, 3))
        pixels = rng.integers(0, 256, (height, width), dtype=np.uint8)
        for size in ((new, width), (height, new)):
            np.testing.assert_array_equal(
                transforms.Resize(size)(pixels),
                np.asarray(Image.fromarray(pixels).resize(size[::-1], Image.BILINEAR)))


def test_resize_rejects_unsupported_modes_for_arrays():
    with pytest.raises(NotImplementedError, match="PIL images only"):
        transforms.Resize(5, interpolation=transforms.InterpolationMode.BICUBIC)(
            np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="unknown interpolation"):
        transforms.Resize(5, interpolation="cubic-ish")(np.zeros((8, 8), np.uint8))


# ---------------------------------------------------------------------------------------
# Crops, pads, flips, grayscale, Lambda, Compose
# ---------------------------------------------------------------------------------------
def test_center_crop_offsets_and_padding():
    pixels = np.arange(5 * 6).reshape(1, 5, 6).astype(np.float32)
    out = transforms.CenterCrop((2, 3))(_t(pixels)).numpy()
    # top = round(3 / 2) = 2 (Python rounds half to even), left = round(1.5) = 2
    np.testing.assert_array_equal(out, pixels[:, 2:4, 2:5])
    np.testing.assert_array_equal(transforms.CenterCrop(4)(_t(pixels)).numpy(),
                                  pixels[:, 0:4, 1:5])   # round(0.5) = 0, round(1.0) = 1
    bigger = transforms.CenterCrop((8, 7))(_t(pixels)).numpy()
    expected = np.pad(pixels, [(0, 0), (1, 2), (0, 1)])   # the odd extra pixel at the end
    np.testing.assert_array_equal(bigger, expected)
    array = transforms.CenterCrop(2)(pixels[0].astype(np.uint8))
    assert isinstance(array, np.ndarray) and array.shape == (2, 2)


def test_pad_modes_and_fills():
    pixels = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(np.float32)
    out = transforms.Pad(1)(_t(pixels)).numpy()
    np.testing.assert_array_equal(out, np.pad(pixels, [(0, 0), (1, 1), (1, 1)]))
    out = transforms.Pad((1, 2))(_t(pixels)).numpy()          # left/right 1, top/bottom 2
    assert out.shape == (2, 7, 6)
    out = transforms.Pad((1, 2, 3, 0), fill=(5, 6))(_t(pixels)).numpy()   # l, t, r, b
    assert out.shape == (2, 5, 8) and out[0, 0, 0] == 5 and out[1, 0, 0] == 6
    for mode in ("edge", "reflect", "symmetric"):
        out = transforms.Pad(2, padding_mode=mode)(_t(pixels)).numpy()
        np.testing.assert_array_equal(out, np.pad(pixels, [(0, 0), (2, 2), (2, 2)], mode=mode))
    with pytest.raises(ValueError, match="padding_mode"):
        transforms.Pad(1, padding_mode="wrap")
    hwc = pixels.transpose(1, 2, 0).astype(np.uint8)
    assert transforms.Pad(1, fill=9)(hwc).shape == (5, 6, 2)


def test_pad_of_a_pil_image_is_the_same_as_of_its_array():
    Image = _pil()
    pixels = np.random.default_rng(3).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    image = transforms.Pad((1, 2, 3, 4), fill=(10, 20, 30))(Image.fromarray(pixels))
    assert image.mode == "RGB" and image.size == (4 + 4, 5 + 6)
    np.testing.assert_array_equal(np.asarray(image), transforms.Pad((1, 2, 3, 4),
                                  fill=(10, 20, 30))(pixels))
    assert tuple(np.asarray(image)[0, 0]) == (10, 20, 30)


def test_random_crop_draws_from_minicnn_generator():
    pixels = np.arange(6 * 7).reshape(1, 6, 7).astype(np.float32)
    crop = transforms.RandomCrop((3, 4))
    mc.manual_seed(5)
    out = crop(_t(pixels)).numpy()
    draws = np.random.default_rng(5)
    i, j = int(draws.integers(0, 4)), int(draws.integers(0, 4))
    np.testing.assert_array_equal(out, pixels[:, i:i + 3, j:j + 4])
    mc.manual_seed(5)
    np.testing.assert_array_equal(crop(_t(pixels)).numpy(), out)   # reproducible
    padded = transforms.RandomCrop(6, padding=4)(_t(pixels))
    assert padded.shape == (1, 6, 6)
    grown = transforms.RandomCrop((8, 9), pad_if_needed=True)(_t(pixels))
    assert grown.shape == (1, 8, 9)
    with pytest.raises(ValueError, match="larger than input image size"):
        transforms.RandomCrop(8)(_t(pixels))


def test_cifar_style_random_crop_keeps_every_pixel_in_a_shifted_place():
    pixels = np.random.default_rng(4).random((3, 32, 32)).astype(np.float32) + 1
    out = transforms.RandomCrop(32, padding=4)(_t(pixels)).numpy()
    padded = np.pad(pixels, [(0, 0), (4, 4), (4, 4)])
    assert any(np.array_equal(out, padded[:, i:i + 32, j:j + 32])
               for i in range(9) for j in range(9))


def test_flips():
    pixels = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(np.float32)
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(1.0)(_t(pixels)).numpy(),
                                  pixels[..., ::-1])
    np.testing.assert_array_equal(transforms.RandomVerticalFlip(1.0)(_t(pixels)).numpy(),
                                  pixels[..., ::-1, :])
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(0.0)(_t(pixels)).numpy(),
                                  pixels)
    flip = transforms.RandomHorizontalFlip()
    mc.manual_seed(9)
    flipped = [flip(_t(pixels)).numpy()[0, 0, 0] == 3 for _ in range(20)]
    draws = np.random.default_rng(9).random(20) < 0.5
    assert flipped == list(draws)
    hw = pixels[0].astype(np.uint8)
    np.testing.assert_array_equal(functional.hflip(hw), hw[:, ::-1])
    with pytest.raises(ValueError, match="probability"):
        transforms.RandomHorizontalFlip(1.5)


def test_grayscale():
    rgb = np.random.default_rng(5).random((3, 4, 5)).astype(np.float32)
    gray = transforms.Grayscale()(_t(rgb)).numpy()
    expected = (np.float32(0.2989) * rgb[0] + np.float32(0.587) * rgb[1]
                + np.float32(0.114) * rgb[2])[None]
    np.testing.assert_allclose(gray, expected, rtol=1e-6)
    three = transforms.Grayscale(3)(_t(rgb)).numpy()
    assert three.shape == (3, 4, 5) and np.array_equal(three[0], three[2])
    hwc = (rgb.transpose(1, 2, 0) * 255).astype(np.uint8)
    r, g, b = (hwc[..., c].astype(np.int64) for c in range(3))
    np.testing.assert_array_equal(transforms.Grayscale()(hwc),
                                  (19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
    assert transforms.Grayscale(3)(hwc[..., 0]).shape == (4, 5, 3)


def test_grayscale_array_is_pillow_convert_l():
    Image = _pil()
    hwc = np.random.default_rng(6).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(transforms.Grayscale()(hwc),
                                  np.asarray(Image.fromarray(hwc).convert("L")))
    image = transforms.Grayscale(3)(Image.fromarray(hwc))
    assert image.mode == "RGB"


def test_lambda_and_compose():
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x * 2),
                                   transforms.Normalize((0.5,), (0.5,))])
    out = pipeline(np.array([[0, 255]], dtype=np.uint8))
    np.testing.assert_allclose(out.numpy(), [[[-1.0, 3.0]]])
    assert "ToTensor()" in repr(pipeline)
    assert "Normalize(mean=(0.5,), std=(0.5,))" in repr(pipeline)
    with pytest.raises(TypeError, match="callable"):
        transforms.Lambda(3)


def test_transforms_reject_batches_and_other_types():
    with pytest.raises(ValueError, match="one image"):
        transforms.CenterCrop(2)(np.zeros((2, 1, 4, 4)))
    with pytest.raises(TypeError, match="PIL image, a NumPy array"):
        transforms.RandomHorizontalFlip(1.0)([[1, 2]])


# ---------------------------------------------------------------------------------------
# make_grid, save_image
# ---------------------------------------------------------------------------------------
def test_make_grid_layout_and_gray_to_rgb():
    images = np.stack([np.full((1, 2, 3), v, np.float32) for v in (0.1, 0.2, 0.3)])
    grid = utils.make_grid(_t(images), nrow=2, padding=1, pad_value=0.5)
    assert isinstance(grid, mc.Tensor) and grid.dtype == np.float32
    assert grid.shape == (3, 2 * 3 + 1, 2 * 4 + 1)        # 3 channels: gray repeated
    g = grid.numpy()
    assert np.all(g[:, 0, :] == 0.5) and np.all(g[:, :, 0] == 0.5)
    np.testing.assert_array_equal(g[:, 1:3, 1:4], np.full((3, 2, 3), 0.1, np.float32))
    np.testing.assert_array_equal(g[:, 1:3, 5:8], np.full((3, 2, 3), 0.2, np.float32))
    np.testing.assert_array_equal(g[:, 4:6, 1:4], np.full((3, 2, 3), 0.3, np.float32))
    assert np.all(g[:, 4:6, 5:8] == 0.5)                   # the empty slot
    single = utils.make_grid(_t(images[:1]))
    assert single.shape == (3, 2, 3)                       # one image: no padding
    listed = utils.make_grid([_t(image) for image in images], nrow=3, padding=0)
    assert listed.shape == (3, 2, 9)
    with pytest.raises(TypeError, match="tensor or list of tensors"):
        utils.make_grid(images)


def test_make_grid_normalize():
    images = _t(np.array([[[[-1.0, 0.0]]], [[[1.0, 3.0]]]]))           # (2, 1, 1, 2)
    grid = utils.make_grid(images, padding=0, normalize=True).numpy()
    np.testing.assert_allclose(grid[0], [[0.0, 0.25, 0.5, 1.0]])        # (x - -1) / 4
    ranged = utils.make_grid(images, padding=0, normalize=True, value_range=(0, 2)).numpy()
    np.testing.assert_allclose(ranged[0], [[0.0, 0.0, 0.5, 1.0]])       # clamped first
    each = utils.make_grid(images, padding=0, normalize=True, scale_each=True).numpy()
    np.testing.assert_allclose(each[0], [[0.0, 1.0, 0.0, 1.0]])
    flat = utils.make_grid(_t(np.full((2, 1, 1, 1), 0.7)), padding=0, normalize=True)
    np.testing.assert_allclose(flat.numpy(), 0.0)                        # / max(0, 1e-5)
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        utils.make_grid(images, normalize=True, value_range=[0, 1])


def test_save_image_writes_a_png_with_torchvision_rounding(tmp_path):
    Image = _pil()
    values = np.array([0.0, 0.5, 1.0, 1.5, -0.2, 0.001, 0.998, 0.25], np.float32)
    images = _t(values.reshape(2, 1, 2, 2))
    path = tmp_path / "grid.png"
    utils.save_image(images, path, nrow=2, padding=1, pad_value=1.0)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = np.asarray(Image.open(path))
    assert picture.shape == (4, 7, 3) and picture.dtype == np.uint8
    expected = np.clip(values * np.float32(255) + np.float32(0.5), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(picture[1:3, 1:3, 0].reshape(-1), expected[:4])
    np.testing.assert_array_equal(picture[1:3, 4:6, 1].reshape(-1), expected[4:])
    assert np.all(picture[0] == 255)                                     # pad_value 1.0
    stream = io.BytesIO()
    utils.save_image(images, stream, format="png", normalize=True)
    stream.seek(0)
    assert np.asarray(Image.open(stream)).shape == (2 + 2 * 2, 2 + 2 * 4, 3)


def test_make_grid_and_save_image_match_torchvision(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    import torch

    Image = _pil()
    images = np.random.default_rng(7).standard_normal((5, 3, 6, 7)).astype(np.float32)
    for kwargs in ({}, {"normalize": True}, {"normalize": True, "scale_each": True},
                   {"normalize": True, "value_range": (-1.0, 1.0), "nrow": 2, "padding": 3}):
        ours = utils.make_grid(mc.tensor(images), **kwargs).numpy()
        theirs = torchvision.utils.make_grid(torch.tensor(images), **kwargs).numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        utils.save_image(mc.tensor(images), tmp_path / "ours.png", **kwargs)
        torchvision.utils.save_image(torch.tensor(images), tmp_path / "theirs.png", **kwargs)
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ours.png")),
                                      np.asarray(Image.open(tmp_path / "theirs.png")))


# ---------------------------------------------------------------------------------------
# MNIST and friends
# ---------------------------------------------------------------------------------------
def _fake_mnist(root, name="MNIST", count=20, gz=False, folder=("raw",)):
    """IDX files as the real ones, under ``root/name/raw`` (torchvision's layout)."""
    rng = np.random.default_rng(8)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8)
    target = root.joinpath(name, *folder)
    target.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", count), ("t10k", count // 2)):
        write_idx(target / f"{prefix}-images-idx3-ubyte{suffix}", images[:n])
        write_idx(target / f"{prefix}-labels-idx1-ubyte{suffix}", labels[:n])
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_torchvisions_layout(tmp_path, gz):
    Image = _pil()
    images, labels = _fake_mnist(tmp_path, gz=gz)
    train = datasets.MNIST(str(tmp_path), train=True)
    test = datasets.MNIST(tmp_path, train=False)
    assert len(train) == 20 and len(test) == 10
    assert train.data.dtype == np.uint8 and train.data.shape == (20, 28, 28)
    assert train.targets.dtype == np.int64 and train.targets.shape == (20,)
    np.testing.assert_array_equal(train.data.numpy(), images)
    assert train.classes[3] == "3 - three" and train.class_to_idx["9 - nine"] == 9
    image, target = train[3]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28)
    assert type(target) is int and target == 3
    np.testing.assert_array_equal(np.asarray(image), images[3])
    assert "Number of datapoints: 20" in repr(train) and "Split: Test" in repr(test)


def test_mnist_reads_minicnn_datas_cache_layout(tmp_path):
    images, _ = _fake_mnist(tmp_path, gz=True, folder=())      # root/MNIST/*.gz
    np.testing.assert_array_equal(datasets.MNIST(tmp_path).data.numpy(), images)


def test_mnist_missing_files_say_where_what_and_from_where(tmp_path):
    with pytest.raises(RuntimeError) as caught:
        datasets.MNIST(tmp_path / "data", train=True, download=False)
    message = str(caught.value)
    assert "Dataset not found" in message and str(tmp_path / "data" / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in message
    assert "download=True" in message and "MNIST5k" in message
    with pytest.raises(RuntimeError, match="FashionMNIST.*t10k-images-idx3-ubyte"):
        datasets.FashionMNIST(tmp_path, train=False)


def test_mnist_download_failure_is_clear(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "mirrors", ("http://127.0.0.1:9/",))
    with pytest.raises(RuntimeError) as caught:
        datasets.MNIST(tmp_path, download=True)
    message = str(caught.value)
    assert "download=True" in message and "127.0.0.1:9/train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "MNIST" / "raw") in message and "MNIST5k" in message


def test_mnist_with_transforms_through_a_dataloader(tmp_path):
    _, labels = _fake_mnist(tmp_path)
    dataset = datasets.MNIST(tmp_path, train=True, download=False, transform=transforms.Compose(
        [transforms.Resize(28), transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]),
        target_transform=lambda t: t + 100)
    image, target = dataset[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and target == 100
    assert -1.0 <= image.numpy().min() and image.numpy().max() <= 1.0
    batches = list(DataLoader(dataset, batch_size=8, shuffle=False))
    images, targets = batches[0]
    assert images.shape == (8, 1, 28, 28) and images.dtype == np.float32
    assert targets.shape == (8,) and targets.dtype == np.int64
    np.testing.assert_array_equal(targets.numpy(), labels[:8] + 100)
    assert [len(b[1]) for b in batches] == [8, 8, 4]


def test_mnist_items_follow_a_replaced_data_and_targets(tmp_path):
    images, _ = _fake_mnist(tmp_path)
    dataset = datasets.MNIST(tmp_path)
    keep = dataset.targets.numpy() == 4
    dataset.data, dataset.targets = dataset.data[mc.tensor(keep)], dataset.targets[mc.tensor(keep)]
    assert len(dataset) == 2 and dataset[1][1] == 4
    np.testing.assert_array_equal(np.asarray(dataset[1][0]), images[14])


def test_without_pillow_items_are_uint8_arrays_and_pipelines_agree(tmp_path, no_pillow):
    images, _ = _fake_mnist(tmp_path)
    pipeline = transforms.Compose([transforms.Resize(32), transforms.CenterCrop(30),
                                   transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    image, target = datasets.MNIST(tmp_path)[5]
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (28, 28)
    x = datasets.MNIST(tmp_path, transform=pipeline)[5][0]
    assert x.shape == (1, 30, 30)
    with pytest.raises(ImportError, match="Pillow"):
        datasets.default_loader(tmp_path / "x.png")


def test_pil_and_array_pipelines_give_the_same_tensor(tmp_path, monkeypatch):
    _pil()
    _fake_mnist(tmp_path)
    pipeline = transforms.Compose([transforms.Resize(64), transforms.RandomCrop(60),
                                   transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    mc.manual_seed(1)
    with_pil = datasets.MNIST(tmp_path, transform=pipeline)[7][0].numpy()
    from minicnn.vision import datasets as vision_datasets

    monkeypatch.setattr(functional, "pil_image_module", lambda: None)
    monkeypatch.setattr(vision_datasets, "pil_image_module", lambda: None)
    mc.manual_seed(1)
    without = datasets.MNIST(tmp_path, transform=pipeline)[7][0].numpy()
    np.testing.assert_array_equal(with_pil, without)


def test_fashion_mnist_and_the_embedded_digits(tmp_path):
    _fake_mnist(tmp_path, name="FashionMNIST")
    fashion = datasets.FashionMNIST(tmp_path)
    assert fashion.classes[9] == "Ankle boot" and len(fashion) == 20
    train, test = datasets.MNIST5k(train=True), datasets.MNIST5k("ignored", train=False)
    assert len(train) == 4000 and len(test) == 1000
    assert train.data.shape == (4000, 28, 28) and train.data.dtype == np.uint8
    assert sorted(np.bincount(test.targets.numpy())) == [100] * 10
    assert "not the full MNIST" in repr(train)
    x, y = datasets.MNIST5k(transform=transforms.ToTensor())[0]
    assert x.shape == (1, 28, 28) and 0 <= y <= 9


def test_fake_data_is_the_same_for_the_same_index():
    fake = datasets.FakeData(size=6, image_size=(3, 8, 9), num_classes=4,
                             transform=transforms.ToTensor())
    x, y = fake[2]
    assert len(fake) == 6 and x.shape == (3, 8, 9) and 0 <= y < 4
    np.testing.assert_array_equal(fake[2][0].numpy(), x.numpy())
    assert not np.array_equal(fake[3][0].numpy(), x.numpy())
    with pytest.raises(IndexError):
        fake[6]


# ---------------------------------------------------------------------------------------
# ImageFolder
# ---------------------------------------------------------------------------------------
def _image_tree(root):
    """root/cat/{a,b}.png, root/dog/c.png (+ a file that is not an image)."""
    from minicnn.viz import save_image_grid

    Image = _pil()
    rng = np.random.default_rng(10)
    pictures = {}
    for path in ("cat/b.png", "cat/a.png", "dog/sub/c.PNG"):
        pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / path)
        pictures[path] = pixels
    (root / "dog" / "notes.txt").write_text("not an image")
    gray = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) / 15
    save_image_grid(gray, root / "emu" / "grid.png", value_range=(0, 1), padding=0)
    return pictures


def test_image_folder_classes_samples_and_items(tmp_path):
    Image = _pil()
    pictures = _image_tree(tmp_path)
    folder = datasets.ImageFolder(root=str(tmp_path))
    assert folder.classes == ["cat", "dog", "emu"]
    assert folder.class_to_idx == {"cat": 0, "dog": 1, "emu": 2}
    assert [(p.replace(str(tmp_path), ""), t) for p, t in folder.samples] == [
        ("/cat/a.png", 0), ("/cat/b.png", 0), ("/dog/sub/c.PNG", 1), ("/emu/grid.png", 2)]
    assert folder.targets == [0, 0, 1, 2] and folder.imgs is folder.samples and len(folder) == 4
    image, target = folder[2]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and target == 1
    np.testing.assert_array_equal(np.asarray(image), pictures["dog/sub/c.PNG"])
    emu = np.asarray(folder[3][0])                            # written by minicnn.viz
    assert emu.shape == (4, 4, 3) and emu[0, 0, 0] == 0 and emu[3, 3, 0] == 255
    loaded = datasets.ImageFolder(tmp_path, transform=transforms.Compose(
        [transforms.Resize((8, 8)), transforms.ToTensor()]))
    images, targets = next(iter(DataLoader(loaded, batch_size=4)))
    assert images.shape == (4, 3, 8, 8) and targets.numpy().tolist() == [0, 0, 1, 2]


def test_image_folder_options_and_errors(tmp_path):
    _image_tree(tmp_path)
    only_a = datasets.ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith("a.png"),
                                  allow_empty=True, loader=lambda p: p)
    assert [s[1] for s in only_a.samples] == [0] and only_a[0][0].endswith("a.png")
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes dog, emu"):
        datasets.ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith("a.png"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(tmp_path / "empty")


# ---------------------------------------------------------------------------------------
# import torchvision under minicnn.as_torch
# ---------------------------------------------------------------------------------------
def test_as_torch_maps_torchvision_to_minicnn_vision():
    import minicnn.vision as vision

    with as_torch.installed():
        import torchvision
        import torchvision.transforms as T
        import torchvision.utils as vutils
        from torchvision import datasets as dset
        from torchvision.transforms import functional as TF
        from torchvision.utils import make_grid, save_image

        assert torchvision is vision and T is transforms and vutils is utils
        import minicnn.vision.transforms.functional as transforms_functional

        assert dset is datasets and TF is transforms_functional   # its module path
        assert TF.hflip is functional.hflip
        assert make_grid is utils.make_grid and save_image is utils.save_image
        assert vision.__spec__.name == "minicnn.vision"
        with pytest.raises(ModuleNotFoundError) as caught:
            import torchvision.models  # noqa: F401
        assert "torchvision's 'torchvision.models'" in str(caught.value)
        assert "minicnn has no 'minicnn.vision.models'" in str(caught.value)
    import sys
    assert not any(name == "torchvision" or name.startswith("torchvision.")
                   for name in sys.modules
                   if getattr(sys.modules[name], "__name__", "").startswith("minicnn"))


SCRIPT = """
import torch
import torch.nn as nn
import torch.optim as optim
import torchvision.utils as vutils
from torchvision import datasets, transforms

torch.manual_seed(0)
dataset = datasets.MNIST(ROOT, train=True, download=False, transform=transforms.Compose([
    transforms.Resize(28), transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]))
loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
optimizer = optim.SGD(model.parameters(), lr=0.1)
images, labels = next(iter(loader))
before = model[1].weight.detach().clone()
loss = nn.functional.cross_entropy(model(images), labels)
optimizer.zero_grad()
loss.backward()
optimizer.step()
changed = bool((model[1].weight.detach() - before).abs().sum() > 0)
vutils.save_image(images.data[:8], OUT, nrow=4, normalize=True)
"""


def test_a_pytorch_style_gan_script_runs_on_minicnn_vision(tmp_path):
    Image = _pil()
    _fake_mnist(tmp_path)
    namespace = {"ROOT": str(tmp_path), "OUT": str(tmp_path / "samples.png")}
    with as_torch.installed():
        exec(compile(SCRIPT, "script.py", "exec"), namespace)
    images, labels = namespace["images"], namespace["labels"]
    assert isinstance(images, mc.Tensor) and images.shape == (8, 1, 28, 28)
    assert images.dtype == np.float32 and labels.dtype == np.int64 and labels.shape == (8,)
    assert np.isfinite(float(namespace["loss"])) and namespace["changed"]
    picture = np.asarray(Image.open(tmp_path / "samples.png"))
    assert picture.shape == (2 + 2 * 30, 2 + 4 * 30, 3)


def test_transforms_functional_is_importable_under_torchvisions_module_path():
    import minicnn.as_torch as as_torch
    import minicnn.vision.functional as pixel_ops

    with as_torch.installed():
        import torchvision.transforms.functional as TF

        image = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
        flipped = TF.hflip(mc.tensor(image))
    np.testing.assert_array_equal(flipped.numpy(), image[..., ::-1])
    assert TF.hflip is pixel_ops.hflip and "resize" in TF.__all__
