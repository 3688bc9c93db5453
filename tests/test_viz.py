"""minicnn.viz: image grids, curves and confusion matrices as PNG files."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import minicnn as mc
from minicnn.viz import (confusion_matrix, make_image_grid, plot_confusion_matrix, plot_curves,
                         save_image_grid)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _read_png(path):
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return imread(path)


def test_grid_layout_and_value_mapping():
    images = np.stack([np.full((1, 3, 4), v) for v in (-1.0, 0.0, 1.0, 2.0, -5.0)])
    grid = make_image_grid(images, nrow=2, value_range=(-1, 1), padding=1, pad_value=7)
    # 3 rows x 2 columns of 3x4 tiles, 1 pixel of padding around each
    assert grid.shape == (3 * 4 + 1, 2 * 5 + 1) and grid.dtype == np.uint8
    assert grid[0, 0] == 7
    tile = lambda r, c: grid[1 + 4 * r:4 + 4 * r, 1 + 5 * c:5 + 5 * c]  # noqa: E731
    assert np.all(tile(0, 0) == 0) and np.all(tile(0, 1) == 128)  # -1 -> 0, 0 -> 127.5
    assert np.all(tile(1, 0) == 255) and np.all(tile(1, 1) == 255)  # 2 clipped to 1
    assert np.all(tile(2, 0) == 0)  # -5 clipped to -1
    assert np.all(tile(2, 1) == 7)  # the empty slot stays padding


def test_save_image_grid_png_gray_and_colour(tmp_path):
    gray = np.linspace(0, 1, 10 * 28 * 28).reshape(10, 1, 28, 28)
    grid = save_image_grid(mc.tensor(gray, dtype="float32"), tmp_path / "sub" / "gray.png",
                           nrow=5, value_range=(0, 1))
    picture = _read_png(tmp_path / "sub" / "gray.png")
    assert picture.shape[:2] == grid.shape == (2 * 30 + 2, 5 * 30 + 2)
    # one image pixel per PNG pixel, gray values kept
    np.testing.assert_allclose(picture[..., 0] * 255, grid, atol=1)
    colour = np.random.default_rng(0).uniform(-1, 1, (3, 3, 8, 8))
    save_image_grid(colour, tmp_path / "colour.png")
    picture = _read_png(tmp_path / "colour.png")
    assert picture.shape[:2] == (1 * 10 + 2, 3 * 10 + 2)
    np.testing.assert_allclose(picture[2:10, 2:10, :3] * 255,
                               np.rint((colour[0].transpose(1, 2, 0) + 1) / 2 * 255), atol=1)


def test_grid_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"images: expected shape \(N, C, H, W\)"):
        make_image_grid(np.zeros((2, 2, 5, 5)))
    with pytest.raises(ValueError, match="nrow"):
        make_image_grid(np.zeros((2, 1, 5, 5)), nrow=0)
    with pytest.raises(ValueError, match="value_range"):
        make_image_grid(np.zeros((2, 1, 5, 5)), value_range=(1, 1))
    with pytest.raises(ValueError, match="scale"):
        save_image_grid(np.zeros((2, 1, 5, 5)), tmp_path / "x.png", scale=0)


def test_save_image_grid_scale_repeats_pixels(tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (4, 1, 3, 3))
    grid = save_image_grid(images, tmp_path / "big.png", nrow=2, padding=0, scale=3)
    assert grid.shape == (18, 18)
    np.testing.assert_array_equal(grid[::3, ::3], make_image_grid(images, 2, padding=0))
    assert _read_png(tmp_path / "big.png").shape[:2] == (18, 18)


def test_plot_curves(tmp_path):
    losses = [mc.tensor(v) for v in np.exp(-np.arange(50) / 10)]
    plot_curves({"train loss": losses, "test loss": ([0, 10, 20, 49], [1.0, 0.5, 0.2, 0.1]),
                 "pair of values": (0.3, 0.2)},
                tmp_path / "curves.png", title="loss", log_y=True)
    picture = _read_png(tmp_path / "curves.png")
    assert picture.shape[0] > 100 and picture.shape[1] > 100
    with pytest.raises(ValueError, match="differ in length"):
        plot_curves({"bad": (np.arange(3), np.arange(4))}, tmp_path / "bad.png")
    with pytest.raises(ValueError, match="at least one"):
        plot_curves({}, tmp_path / "empty.png")


def test_confusion_matrix_matches_counting_by_hand():
    generator = np.random.default_rng(0)
    labels = generator.integers(0, 10, 500)
    predictions = np.where(generator.random(500) < 0.7, labels, generator.integers(0, 10, 500))
    matrix = confusion_matrix(mc.tensor(labels), predictions, 10)
    by_hand = np.zeros((10, 10), dtype=np.int64)
    for true, predicted in zip(labels, predictions):
        by_hand[true, predicted] += 1
    np.testing.assert_array_equal(matrix, by_hand)
    assert matrix.trace() / matrix.sum() == np.mean(labels == predictions)
    assert confusion_matrix([0, 1, 1], [1, 1, 1], 3).tolist() == [[0, 1, 0], [0, 2, 0],
                                                                  [0, 0, 0]]
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 3\)"):
        confusion_matrix([0, 3], [0, 0], 3)
    with pytest.raises(ValueError, match="predictions: expected 2 values"):
        confusion_matrix([0, 1], [0], 3)


def test_plot_confusion_matrix(tmp_path):
    matrix = np.array([[5, 1, 0], [0, 7, 2], [1, 0, 9]])
    plot_confusion_matrix(matrix, tmp_path / "cm.png", class_names=["cat", "dog", "bird"])
    plot_confusion_matrix(matrix, tmp_path / "cm_norm.png", normalize=True)
    assert _read_png(tmp_path / "cm.png").ndim == 3
    assert _read_png(tmp_path / "cm_norm.png").ndim == 3
    with pytest.raises(ValueError, match="class_names: expected 3 names"):
        plot_confusion_matrix(matrix, tmp_path / "x.png", class_names=["a"])


def test_viz_never_touches_pyplot(tmp_path):
    """Drawing uses Figure + the Agg canvas: pyplot (global state, a GUI backend) stays out."""
    import subprocess

    code = (
        "import sys, numpy as np, minicnn.viz as v\n"
        f"folder = {str(tmp_path)!r}\n"
        "v.save_image_grid(np.zeros((2, 1, 4, 4)), folder + '/g.png')\n"
        "v.plot_curves({'a': [1.0, 2.0]}, folder + '/c.png')\n"
        "v.plot_confusion_matrix(np.eye(2, dtype=int), folder + '/m.png')\n"
        "print('matplotlib.pyplot' in sys.modules)\n")
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=root, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "g.png", "m.png"]
