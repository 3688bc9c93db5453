"""minicnn.vision's random augmentations, rotations / affine maps, colour ops and CIFAR.

References: PyTorch's ``grid_sample`` / ``conv2d`` running torchvision's tensor recipe,
Pillow (what torchvision calls for PIL images), ``colorsys`` for HSV, and the documented
formulas written out on small inputs. CIFAR is read from small pickles of the published
layout written in tmp_path.
"""
from __future__ import annotations

import colorsys
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

import minicnn as mc
from minicnn.vision import datasets, functional as F, transforms as T
from minicnn.vision import cifar, functional_geometry as G

from oracle import torch_or_skip


def _t(array, dtype=np.float32):
    return mc.tensor(np.asarray(array, dtype=dtype))


def _image(shape=(3, 6, 8), seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# ---------------------------------------------------------------------------------------
# rotate / affine
# ---------------------------------------------------------------------------------------
def _torch_grid_transform(torch, pixels, matrix, mode, fill, out_size=None):
    """torchvision's F_t._gen_affine_grid + _apply_grid_transform, in PyTorch."""
    img = torch.tensor(pixels)[None]
    h, w = img.shape[-2:]
    ow, oh = out_size or (w, h)
    theta = torch.tensor(matrix, dtype=torch.float32).reshape(1, 2, 3)
    f32 = torch.float32
    base = torch.empty(1, oh, ow, 3, dtype=f32)
    base[..., 0].copy_(torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, steps=ow, dtype=f32))
    base[..., 1].copy_(torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, steps=oh,
                                      dtype=f32)[:, None])
    base[..., 2].fill_(1)
    scale = torch.tensor([0.5 * w, 0.5 * h], dtype=f32)
    grid = base.view(1, oh * ow, 3).bmm(theta.transpose(1, 2) / scale)
    grid = grid.view(1, oh, ow, 2)
    if fill is not None:
        img = torch.cat([img, torch.ones(1, 1, h, w, dtype=f32)], dim=1)
    out = torch.nn.functional.grid_sample(img, grid, mode=mode, padding_mode="zeros",
                                          align_corners=False)
    if fill is not None:
        mask, out = out[:, -1:], out[:, :-1]
        fill_img = torch.tensor(fill, dtype=out.dtype).view(1, -1, 1, 1).expand_as(out)
        mask = mask.expand_as(out)
        if mode == "nearest":
            out = torch.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (1.0 - mask) * fill_img
    return out[0].numpy()


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill", [None, [0.25, 0.5, 1.0]])
def test_rotate_matches_torchvision_tensor_recipe(mode, fill):
    torch = torch_or_skip()
    pixels = _image()
    angle = 33.0
    out = F.rotate(_t(pixels), angle, mode, fill=fill).numpy()
    matrix = G._inverse_affine_matrix([0.0, 0.0], -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    expected = _torch_grid_transform(torch, pixels, matrix, mode, fill)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    expanded = F.rotate(_t(pixels), angle, mode, expand=True, fill=fill).numpy()
    size = G._expanded_size(matrix, 8, 6)
    assert expanded.shape == (3, size[1], size[0]) and size[0] > 8 and size[1] > 6
    np.testing.assert_allclose(expanded, _torch_grid_transform(torch, pixels, matrix, mode,
                                                               fill, size), atol=1e-5)


def test_inverse_affine_matrix_formula():
    # rotation only: the inverse of R(angle) about the centre
    m = G._inverse_affine_matrix([2.0, 3.0], 90.0, [0.0, 0.0], 1.0, [0.0, 0.0])
    np.testing.assert_allclose(m, [0.0, 1.0, 2.0 - 3.0, -1.0, 0.0, 3.0 + 2.0], atol=1e-12)
    # scale and translation: x_in = (x_out - c - t) / s + c
    m = G._inverse_affine_matrix([0.0, 0.0], 0.0, [1.0, -2.0], 2.0, [0.0, 0.0])
    np.testing.assert_allclose(m, [0.5, 0.0, -0.5, 0.0, 0.5, 1.0], atol=1e-12)
    # x-shear of 45 degrees: forward [[1, -tan], [0, 1]] (torchvision's sign), inverted
    m = G._inverse_affine_matrix([0.0, 0.0], 0.0, [0.0, 0.0], 1.0, [45.0, 0.0])
    np.testing.assert_allclose(m, [1.0, 1.0, 0.0, 0.0, 1.0, 0.0], atol=1e-12)


def test_rotate_exact_cases():
    pixels = _image((2, 5, 5))
    np.testing.assert_array_equal(F.rotate(_t(pixels), 0.0).numpy(), pixels)
    # counter-clockwise by 90 degrees: np.rot90 on the (H, W) axes
    np.testing.assert_allclose(F.rotate(_t(pixels), 90.0).numpy(),
                               np.rot90(pixels, 1, axes=(1, 2)), atol=0)
    tall = _image((1, 4, 6))
    out = F.rotate(_t(tall), 90.0, expand=True).numpy()
    np.testing.assert_array_equal(out, np.rot90(tall, 1, axes=(1, 2)))
    # uint8 and a 2-D array keep their kind; integer results are rounded
    gray = (np.arange(25).reshape(5, 5) * 10).astype(np.uint8)
    out = F.rotate(gray, 90.0)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (5, 5)
    np.testing.assert_array_equal(out, np.rot90(gray))
    with pytest.raises(TypeError, match="angle"):
        F.rotate(_t(pixels), "10")
    with pytest.raises(ValueError, match="fill"):
        F.rotate(_t(pixels), 10.0, fill=[1.0, 2.0, 3.0])


def test_affine_translate_is_a_shift_and_fill_marks_the_border():
    pixels = _image((1, 4, 5))
    out = F.affine(_t(pixels), 0.0, [2, 1], 1.0, 0.0).numpy()
    expected = np.zeros_like(pixels)
    expected[:, 1:, 2:] = pixels[:, :3, :3]
    np.testing.assert_array_equal(out, expected)
    out = F.affine(_t(pixels), 0.0, [2, 1], 1.0, 0.0, fill=[7.0]).numpy()
    expected[:, :1, :], expected[:, :, :2] = 7.0, 7.0
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="scale should be positive"):
        F.affine(_t(pixels), 0.0, [0, 0], 0.0, 0.0)
    with pytest.raises(ValueError, match="length 2"):
        F.affine(_t(pixels), 0.0, [0], 1.0, 0.0)


def test_affine_matches_torch_with_shear_and_scale():
    torch = torch_or_skip()
    pixels = _image((3, 7, 9), seed=1)
    out = F.affine(_t(pixels), 20.0, [1, -1], 1.2, [10.0, -5.0], "bilinear").numpy()
    matrix = G._inverse_affine_matrix([0.0, 0.0], 20.0, [1.0, -1.0], 1.2, [10.0, -5.0])
    np.testing.assert_allclose(out, _torch_grid_transform(torch, pixels, matrix, "bilinear",
                                                          None), atol=1e-5)


def test_rotate_and_affine_of_pil_images_are_pillows():
    Image = pytest.importorskip("PIL.Image")
    rgb = (np.random.default_rng(2).random((6, 7, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(rgb)
    out = F.rotate(img, 30.0, "bilinear", fill=5)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(
        img.rotate(30.0, Image.Resampling.BILINEAR, False, None, fillcolor=(5, 5, 5))))
    out = F.affine(img, 15.0, [1, 0], 1.1, 0.0)
    matrix = G._inverse_affine_matrix([3.5, 3.0], 15.0, [1, 0], 1.1, [0.0, 0.0])
    np.testing.assert_array_equal(np.asarray(out), np.asarray(
        img.transform(img.size, Image.Transform.AFFINE, matrix, Image.Resampling.NEAREST)))


# ---------------------------------------------------------------------------------------
# colour
# ---------------------------------------------------------------------------------------
def test_brightness_contrast_saturation_tensor_formulas():
    rgb = _image((3, 2, 3), seed=3)
    x = _t(rgb)
    np.testing.assert_allclose(F.adjust_brightness(x, 1.5).numpy(),
                               np.clip(1.5 * rgb, 0, 1), rtol=1e-6)
    gray = (0.2989 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).astype(np.float32)
    mean = gray.mean()
    np.testing.assert_allclose(F.adjust_contrast(x, 0.3).numpy(),
                               np.clip(0.3 * rgb + 0.7 * mean, 0, 1), rtol=1e-5)
    np.testing.assert_allclose(F.adjust_saturation(x, 2.0).numpy(),
                               np.clip(2.0 * rgb - 1.0 * gray, 0, 1), rtol=1e-5, atol=1e-6)
    u8 = np.array([[[10, 200]], [[100, 250]], [[0, 128]]], dtype=np.uint8)
    out = F.adjust_brightness(_t(u8, np.uint8), 1.3).numpy()
    np.testing.assert_array_equal(out, np.clip(1.3 * u8.astype(np.float32), 0, 255)
                                  .astype(np.uint8))
    with pytest.raises(ValueError, match="not non-negative"):
        F.adjust_brightness(x, -0.1)
    with pytest.raises(TypeError, match="channels"):
        F.adjust_contrast(_t(np.zeros((2, 2, 2))), 0.5)


def test_hue_against_colorsys():
    rgb = _image((3, 3, 4), seed=4)
    for factor in (0.0, 0.2, -0.45, 0.5):
        out = F.adjust_hue(_t(rgb), factor).numpy()
        expected = np.empty_like(rgb)
        for r in range(3):
            for c in range(4):
                h, s, v = colorsys.rgb_to_hsv(*rgb[:, r, c])
                expected[:, r, c] = colorsys.hsv_to_rgb((h + factor) % 1.0, s, v)
        np.testing.assert_allclose(out, expected, atol=2e-6)
    red = np.zeros((3, 1, 1), np.uint8)
    red[0] = 255
    out = F.adjust_hue(_t(red, np.uint8), 0.5).numpy()   # to cyan, uint8(x * 255.999)
    np.testing.assert_array_equal(out[:, 0, 0], [0, 255, 255])
    with pytest.raises(ValueError, match=r"\[-0.5, 0.5\]"):
        F.adjust_hue(_t(rgb), 0.6)


def test_uint8_arrays_compute_what_pillow_computes():
    Image = pytest.importorskip("PIL.Image")
    from PIL import ImageEnhance
    rgb = (np.random.default_rng(5).random((5, 6, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(rgb)
    for function, enhancer in ((F.adjust_brightness, ImageEnhance.Brightness),
                               (F.adjust_contrast, ImageEnhance.Contrast),
                               (F.adjust_saturation, ImageEnhance.Color)):
        for factor in (0.0, 0.4, 1.0, 1.7):
            expected = np.asarray(enhancer(img).enhance(factor))
            np.testing.assert_array_equal(function(rgb, factor), expected)
            np.testing.assert_array_equal(np.asarray(function(img, factor)), expected)
    gray = rgb[:, :, 0]
    np.testing.assert_array_equal(
        F.adjust_contrast(gray, 0.5),
        np.asarray(ImageEnhance.Contrast(Image.fromarray(gray)).enhance(0.5)))
    assert F.adjust_hue(img, 0.25).size == img.size


def test_gaussian_blur_matches_torch_conv2d():
    torch = torch_or_skip()
    pixels = _image((3, 6, 7), seed=6)
    out = F.gaussian_blur(_t(pixels), [3, 5], [0.8, 1.3]).numpy()

    def kernel1d(k, s):
        x = np.linspace(-(k - 1) / 2, (k - 1) / 2, k)
        pdf = np.exp(-0.5 * (x / s) ** 2)
        return pdf / pdf.sum()
    kernel = np.outer(kernel1d(5, 1.3), kernel1d(3, 0.8)).astype(np.float32)
    padded = torch.nn.functional.pad(torch.tensor(pixels)[None], [1, 1, 2, 2], mode="reflect")
    weight = torch.tensor(kernel).expand(3, 1, 5, 3)
    expected = torch.nn.functional.conv2d(padded, weight, groups=3)[0].numpy()
    np.testing.assert_allclose(out, expected, atol=1e-6)
    u8 = (pixels * 255).astype(np.uint8).transpose(1, 2, 0)
    blurred = F.gaussian_blur(u8, 3)   # default sigma 3 * 0.15 + 0.35 = 0.8
    assert blurred.dtype == np.uint8 and blurred.shape == u8.shape
    with pytest.raises(ValueError, match="odd"):
        F.gaussian_blur(_t(pixels), 4)


# ---------------------------------------------------------------------------------------
# random transforms
# ---------------------------------------------------------------------------------------
def test_random_resized_crop_params_and_fallback():
    img = _t(np.zeros((3, 20, 30)))
    mc.manual_seed(0)
    for _ in range(50):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 < h <= 20 and 0 < w <= 30 and 0 <= i <= 20 - h and 0 <= j <= 30 - w
        assert 0.08 * 600 * 0.8 < h * w < 600 * 1.2
    # no window fits: the centre crop with the ratio clamped into [3/4, 4/3]
    wide = _t(np.zeros((1, 10, 40)))
    assert T.RandomResizedCrop.get_params(wide, (2.0, 3.0), (3 / 4, 4 / 3)) == (0, 13, 10, 13)
    tall = _t(np.zeros((1, 40, 10)))
    assert T.RandomResizedCrop.get_params(tall, (2.0, 3.0), (3 / 4, 4 / 3)) == (13, 0, 13, 10)
    square = _t(np.zeros((1, 10, 10)))
    assert T.RandomResizedCrop.get_params(square, (2.0, 3.0), (3 / 4, 4 / 3)) == (0, 0, 10, 10)
    transform = T.RandomResizedCrop(8)
    assert transform(img).shape == (3, 8, 8)
    assert T.RandomResizedCrop((4, 6))(np.zeros((20, 30, 3), np.uint8)).shape == (4, 6, 3)
    with pytest.warns(UserWarning, match="min, max"):
        T.RandomResizedCrop(8, scale=(1.0, 0.5))


def test_random_transforms_are_reproducible_under_manual_seed():
    x = _t(_image((3, 12, 12), seed=7))
    pipeline = T.Compose([T.RandomResizedCrop(8), T.RandomRotation(20),
                          T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5),
                          T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomGrayscale(0.5),
                          T.GaussianBlur(3), T.RandomErasing(),
                          T.RandomApply([T.RandomRotation(5)]),
                          T.RandomChoice([T.RandomHorizontalFlip(1.0), T.Lambda(lambda v: v)]),
                          T.RandomOrder([T.RandomVerticalFlip(), T.RandomGrayscale()])])
    mc.manual_seed(3)
    first = [pipeline(x).numpy() for _ in range(3)]
    mc.manual_seed(3)
    second = [pipeline(x).numpy() for _ in range(3)]
    for a, b in zip(first, second):
        assert a.shape == (3, 8, 8)
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])


def test_rotation_and_affine_parameters():
    assert T.RandomRotation(15).degrees == [-15.0, 15.0]
    mc.manual_seed(0)
    angles = [T.RandomRotation.get_params([-15.0, 15.0]) for _ in range(100)]
    assert -15 <= min(angles) < -10 and 10 < max(angles) <= 15
    with pytest.raises(ValueError, match="must be positive"):
        T.RandomRotation(-1)
    with pytest.raises(ValueError, match="length 2"):
        T.RandomRotation([1, 2, 3])
    affine = T.RandomAffine(0, translate=(0.2, 0.1), scale=(0.5, 0.6), shear=[1, 2, 3, 4])
    for _ in range(50):
        angle, (tx, ty), scale, (sx, sy) = affine.get_params(
            affine.degrees, affine.translate, affine.scale, affine.shear, [10, 20])
        assert angle == 0.0 and abs(tx) <= 2 and abs(ty) <= 2 and 0.5 <= scale <= 0.6
        assert 1 <= sx <= 2 and 3 <= sy <= 4
        assert isinstance(tx, int) and isinstance(ty, int)
    assert T.RandomAffine(5, shear=10).shear == [-10.0, 10.0]
    with pytest.raises(ValueError, match="between 0 and 1"):
        T.RandomAffine(0, translate=(1.5, 0))
    with pytest.raises(ValueError, match="positive"):
        T.RandomAffine(0, scale=(0, 1))
    # a random rotation of a Tensor fills with 0 through torchvision's mask
    out = T.RandomRotation((45, 45), fill=1)(_t(np.zeros((2, 6, 6)))).numpy()
    assert out[:, 0, 0].tolist() == [1.0, 1.0] and out[:, 3, 3].tolist() == [0.0, 0.0]


def test_color_jitter_ranges_order_and_errors():
    jitter = T.ColorJitter(brightness=0.5, contrast=(0.2, 0.3), saturation=0, hue=0.1)
    assert jitter.brightness == (0.5, 1.5) and jitter.contrast == (0.2, 0.3)
    assert jitter.saturation is None and jitter.hue == (-0.1, 0.1)
    assert T.ColorJitter(brightness=2).brightness == (0.0, 3.0)
    mc.manual_seed(1)
    orders = set()
    for _ in range(30):
        order, b, c, s, h = jitter.get_params(jitter.brightness, jitter.contrast,
                                              jitter.saturation, jitter.hue)
        assert sorted(order) == [0, 1, 2, 3]
        orders.add(tuple(order))
        assert 0.5 <= b <= 1.5 and 0.2 <= c <= 0.3 and s is None and -0.1 <= h <= 0.1
    assert len(orders) > 5
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match="between"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(TypeError, match="length 2"):
        T.ColorJitter(contrast=[1, 2, 3])
    x = _t(_image((3, 4, 4), seed=8))
    np.testing.assert_array_equal(T.ColorJitter()(x).numpy(), x.numpy())   # does nothing


def test_containers_grayscale_blur_and_erasing():
    x = _t(_image((3, 10, 10), seed=9))
    flip = T.RandomHorizontalFlip(1.0)
    np.testing.assert_array_equal(T.RandomApply([flip], p=0.0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(T.RandomApply([flip], p=1.0)(x).numpy(),
                                  x.numpy()[..., ::-1])
    choice = T.RandomChoice([T.Lambda(lambda v: 1), T.Lambda(lambda v: 2)], p=[0.0, 1.0])
    assert {choice(x) for _ in range(20)} == {2}
    assert {T.RandomChoice([T.Lambda(lambda v: 1), T.Lambda(lambda v: 2)])(x)
            for _ in range(50)} == {1, 2}
    with pytest.raises(ValueError, match="Length of p"):
        T.RandomChoice([flip], p=[0.5, 0.5])
    seen = []
    order = T.RandomOrder([T.Lambda(lambda v: seen.append(1) or v),
                           T.Lambda(lambda v: seen.append(2) or v)])
    for _ in range(20):
        order(x)
    assert sorted(seen) == [1] * 20 + [2] * 20 and seen[:40:2] != [1] * 20
    gray = T.RandomGrayscale(1.0)(x).numpy()
    assert gray.shape == (3, 10, 10) and np.array_equal(gray[0], gray[2])
    np.testing.assert_array_equal(T.RandomGrayscale(0.0)(x).numpy(), x.numpy())
    blur = T.GaussianBlur(5, sigma=(0.5, 0.5))
    np.testing.assert_allclose(blur(x).numpy(), F.gaussian_blur(x, 5, 0.5).numpy())
    with pytest.raises(ValueError, match="odd"):
        T.GaussianBlur(4)
    with pytest.raises(ValueError, match="sigma"):
        T.GaussianBlur(3, sigma=(2.0, 1.0))
    mc.manual_seed(4)
    for _ in range(20):
        i, j, h, w, v = T.RandomErasing.get_params(x, (0.02, 0.33), (0.3, 3.3), [0.0])
        assert 0 < h < 10 and 0 < w < 10 and i + h <= 10 and j + w <= 10
    erased = T.RandomErasing(p=1.0, value=(1.0, 2.0, 3.0))(x).numpy()
    changed = erased != x.numpy()
    assert changed.any() and np.all(erased[1][changed[1]] == 2.0)
    noisy = T.RandomErasing(p=1.0, value="random")(x)
    assert noisy.shape == x.shape
    with pytest.raises(ValueError, match="'random'"):
        T.RandomErasing(value="noise")
    with pytest.raises(ValueError, match="number of input channels"):
        T.RandomErasing(p=1.0, value=[1.0, 2.0])(x)
    with pytest.raises(TypeError, match="Tensor"):
        T.RandomErasing()(np.zeros((4, 4, 3), np.uint8))
    same = F.erase(x, 0, 0, 2, 2, 0.0, inplace=True)
    assert same is x and float(x.numpy()[:, :2, :2].sum()) == 0.0


# ---------------------------------------------------------------------------------------
# CIFAR
# ---------------------------------------------------------------------------------------
def _write_pickle(path, entry):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(entry))
    return hashlib.md5(path.read_bytes()).hexdigest()


def _fake_cifar10(root, per_batch=3, str_keys=False):
    """Fake CIFAR-10 pickles; returns (train_list, test_list, meta) with their MD5s."""
    key = (lambda k: k) if str_keys else (lambda k: k.encode())
    folder = root / "cifar-10-batches-py"
    rng = np.random.default_rng(0)
    names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    lists = []
    for index, name in enumerate(names):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [(index + k) % 10 for k in range(per_batch)]
        lists.append([name, _write_pickle(folder / name, {key("data"): data,
                                                          key("labels"): labels})])
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]
    meta_names = classes if str_keys else [c.encode() for c in classes]
    md5 = _write_pickle(folder / "batches.meta", {key("label_names"): meta_names})
    return lists[:5], lists[5:], {"filename": "batches.meta", "key": "label_names",
                                  "md5": md5}


def test_cifar10_reads_torchvisions_layout(tmp_path, monkeypatch):
    for str_keys in (False, True):
        root = tmp_path / str(str_keys)
        train_list, test_list, meta = _fake_cifar10(root, str_keys=str_keys)
        monkeypatch.setattr(datasets.CIFAR10, "train_list", train_list)
        monkeypatch.setattr(datasets.CIFAR10, "test_list", test_list)
        monkeypatch.setattr(datasets.CIFAR10, "meta", meta)
        train = datasets.CIFAR10(str(root), train=True)
        test = datasets.CIFAR10(root, train=False, transform=T.ToTensor(),
                                target_transform=lambda t: t + 100)
        assert len(train) == 15 and len(test) == 3
        assert train.data.shape == (15, 32, 32, 3) and train.data.dtype == np.uint8
        assert train.classes[0] == "airplane" and train.class_to_idx["truck"] == 9
        first = pickle.loads((root / "cifar-10-batches-py" / "data_batch_1").read_bytes())
        raw = first[b"data" if not str_keys else "data"][1]
        image, target = train[1]
        pixels = np.asarray(image)
        assert pixels.shape == (32, 32, 3) and isinstance(target, int) and target == 1
        np.testing.assert_array_equal(pixels, raw.reshape(3, 32, 32).transpose(1, 2, 0))
        x, t = test[0]
        assert x.shape == (3, 32, 32) and t == 105
        assert "Split: Test" in repr(test)


def test_cifar100_fine_labels(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-100-python"
    data = np.random.default_rng(1).integers(0, 256, (4, 3072), dtype=np.uint8)
    md5 = _write_pickle(folder / "test", {b"data": data, b"fine_labels": [5, 99, 0, 7],
                                          b"coarse_labels": [1, 2, 3, 4]})
    meta = _write_pickle(folder / "meta", {b"fine_label_names": [f"c{k}".encode()
                                                                 for k in range(100)]})
    monkeypatch.setattr(datasets.CIFAR100, "test_list", [["test", md5]])
    monkeypatch.setattr(datasets.CIFAR100, "meta", {"filename": "meta",
                                                    "key": "fine_label_names", "md5": meta})
    test = datasets.CIFAR100(tmp_path, train=False)
    assert test.targets == [5, 99, 0, 7] and len(test.classes) == 100
    assert test[1][1] == 99 and test.classes[99] == "c99"


def test_cifar_errors_name_root_files_and_url(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError) as error:
        datasets.CIFAR10(tmp_path / "nowhere")
    message = str(error.value)
    assert "nowhere" in message and "data_batch_1 (missing)" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
    assert "download=True" in message
    _fake_cifar10(tmp_path)   # the real MD5s do not match fake files
    with pytest.raises(RuntimeError, match="data_batch_1 \\(corrupted: MD5"):
        datasets.CIFAR10(tmp_path)
    assert datasets.CIFAR100.tgz_md5 == "eb9058c3a382ffc7106e4002c42a8d85"


def test_cifar_download_unpacks_the_archive(tmp_path, monkeypatch):
    source = tmp_path / "source"
    train_list, test_list, meta = _fake_cifar10(source, per_batch=2)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    calls = []

    def fake_download(filename, md5, mirrors, folder, **kwargs):
        calls.append((filename, md5, list(mirrors)))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / filename).write_bytes(buffer.getvalue())
        return folder / filename
    monkeypatch.setattr(cifar, "download_file", fake_download)
    monkeypatch.setattr(datasets.CIFAR10, "train_list", train_list)
    monkeypatch.setattr(datasets.CIFAR10, "test_list", test_list)
    monkeypatch.setattr(datasets.CIFAR10, "meta", meta)
    root = tmp_path / "root"
    train = datasets.CIFAR10(root, download=True)
    assert len(train) == 10 and calls == [("cifar-10-python.tar.gz",
                                           "c58f30108f718f92721af3b95e74349a",
                                           ["https://www.cs.toronto.edu/~kriz/"])]
    datasets.CIFAR10(root, download=True)   # verified: no second download
    assert len(calls) == 1
    assert float(T.ToTensor()(train[0][0]).numpy().max()) <= 1.0
