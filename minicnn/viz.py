"""Pictures to PNG: image grids (GAN samples, misclassified digits), training curves and
confusion matrices.

Everything draws on a ``matplotlib.figure.Figure`` with the Agg canvas (pure PNG output):
no window opens, no display is needed, and pyplot's global state (and whatever backend
you chose for your own plots) is left alone. Inputs may be NumPy arrays, CuPy arrays or
minicnn Tensors.
"""
from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import numpy as np

from .autograd import Tensor
from .backend import get_array_module, to_device


def _numpy(value) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.numpy()
    if get_array_module(value) is not np:
        return to_device(value, "cpu")
    return np.asarray(value)


def _new_figure(figsize):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure


def _write_png(path, write) -> None:
    """``write(stream)`` into ``path`` (its folder made if missing), atomically: a run
    killed while it draws never leaves half a PNG."""
    from .atomic_write import fspath_of, write_atomically

    path = fspath_of(path, "viz", "path")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomically(path, write, "viz")


def _save(figure, path) -> None:
    _write_png(path, lambda stream: figure.savefig(stream, dpi=100, bbox_inches="tight",
                                                   format="png"))


# ---------------------------------------------------------------------------------------
# Image grids
# ---------------------------------------------------------------------------------------
def make_image_grid(images, nrow: int = 8, value_range=(-1.0, 1.0), padding: int = 2,
                    pad_value: int = 0) -> np.ndarray:
    """Tile images ``(N, C, H, W)`` into one uint8 picture, ``nrow`` images per row.

    Pixels are clipped to ``value_range = (low, high)`` and mapped to 0..255:
    ``p = round(255 * (x - low) / (high - low))``. ``padding`` pixels of ``pad_value``
    separate the tiles (as ``torchvision.utils.make_grid``). C = 1 gives a gray picture
    ``(rows, cols)``, C = 3 a colour one ``(rows, cols, 3)``.
    """
    images = _numpy(images)
    if images.dtype.kind not in "biuf":
        raise TypeError(f"images: expected real numbers, got dtype {images.dtype}")
    if images.dtype.kind == "f" and np.isnan(images).any():   # a picture would hide it
        raise ValueError(f"images: {int(np.isnan(images).sum())} of {images.size} values "
                         "are NaN (a diverged model?)")
    for name, value, low_bound in (("padding", padding, 0), ("pad_value", pad_value, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
                value < low_bound or name == "pad_value" and value > 255:
            raise ValueError(f"{name}: expected an int "
                             f"{'in 0..255' if name == 'pad_value' else '>= 0'}, got {value!r}")
    if images.ndim == 3:  # (N, H, W): one channel
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.shape[0] == 0:
        raise ValueError(f"images: expected shape (N, C, H, W) with N >= 1 and C in (1, 3), "
                         f"got {images.shape}")
    if not isinstance(nrow, (int, np.integer)) or nrow <= 0:
        raise ValueError(f"nrow: expected a positive int, got {nrow!r}")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise ValueError(f"value_range: expected (low, high) with high > low, got {value_range}")
    n, channels, height, width = images.shape
    pixels = (np.clip(images.astype(np.float64), low, high) - low) / (high - low)
    pixels = np.rint(pixels * 255).astype(np.uint8)
    columns = min(nrow, n)
    rows = math.ceil(n / columns)
    step_h, step_w = height + padding, width + padding
    grid = np.full((channels, rows * step_h + padding, columns * step_w + padding), pad_value,
                   dtype=np.uint8)
    for index in range(n):
        row, column = divmod(index, columns)
        top, left = padding + row * step_h, padding + column * step_w
        grid[:, top:top + height, left:left + width] = pixels[index]
    return grid[0] if channels == 1 else grid.transpose(1, 2, 0)


def save_image_grid(images, path, nrow: int = 8, value_range=(-1.0, 1.0), padding: int = 2,
                    pad_value: int = 0, scale: int = 1) -> np.ndarray:
    """Write ``make_image_grid(images, ...)`` to ``path`` as a PNG and return the grid.

    The default ``value_range=(-1, 1)`` suits GAN samples; pass ``(0, 1)`` for images
    scaled to [0, 1], ``(0, 255)`` for raw uint8. Each image pixel becomes a
    ``scale`` x ``scale`` block of PNG pixels (no smoothing), to make small digits visible.
    """
    from matplotlib.image import imsave

    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale: expected a positive int, got {scale!r}")
    grid = make_image_grid(images, nrow, value_range, padding, pad_value)
    grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    if grid.ndim == 2:
        _write_png(path, lambda stream: imsave(stream, grid, cmap="gray", vmin=0, vmax=255,
                                               format="png"))
    else:
        _write_png(path, lambda stream: imsave(stream, grid, format="png"))
    return grid


# ---------------------------------------------------------------------------------------
# Curves
# ---------------------------------------------------------------------------------------
def plot_curves(series: Mapping[str, Sequence], path, title: str | None = None,
                xlabel: str = "step", ylabel: str | None = None, log_y: bool = False,
                figsize=(7, 4)) -> None:
    """Plot named curves on one set of axes and save a PNG.

    ``series`` maps a label to either a sequence of values (x = 0, 1, 2, ...) or a pair
    ``(xs, ys)``: ``plot_curves({"train loss": losses, "test loss": (epochs, test)}, p)``.
    Non-finite values are left as gaps. ``log_y=True`` for losses spanning decades.
    """
    if not isinstance(series, Mapping):
        raise TypeError(f"series: expected a dict of label -> values, got "
                        f"{type(series).__name__}")
    if not series:
        raise ValueError("series: expected at least one named curve")
    figure = _new_figure(figsize)
    axes = figure.add_subplot(1, 1, 1)
    for label, values in series.items():
        if isinstance(values, tuple) and len(values) == 2 and np.ndim(values[0]) == 1:
            xs, ys = _numpy(values[0]).astype(float), _numpy(values[1]).astype(float)
        else:  # values only: a list of floats, of 0-d Tensors, or an array
            ys = np.array([float(_numpy(v)) for v in values], dtype=float)
            xs = np.arange(len(ys), dtype=float)
        if xs.shape != ys.shape:
            raise ValueError(f"series[{label!r}]: xs and ys differ in length "
                             f"({xs.shape} vs {ys.shape})")
        axes.plot(xs, ys, label=str(label))
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel(xlabel)
    if ylabel:
        axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    _save(figure, path)


# ---------------------------------------------------------------------------------------
# Confusion matrix
# ---------------------------------------------------------------------------------------
def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """Counts ``M[i, j]`` = number of samples of true class ``i`` predicted as ``j``.

    Rows are the true classes, columns the predictions (scikit-learn's convention), so
    the diagonal holds the correct answers and ``M.trace() / M.sum()`` is the accuracy.
    """
    labels = _numpy(labels).reshape(-1)
    predictions = _numpy(predictions).reshape(-1)
    if labels.shape != predictions.shape:
        raise ValueError(f"predictions: expected {labels.shape[0]} values (one per label), "
                         f"got {predictions.shape[0]}")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.dtype.kind not in "iub"):
            raise TypeError(f"{name}: expected integer class indices, got dtype {values.dtype}")
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name}: expected class indices in [0, {num_classes}), got "
                             f"values from {values.min()} to {values.max()}")
    flat = labels.astype(np.int64) * num_classes + predictions.astype(np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def plot_confusion_matrix(matrix, path, class_names=None, normalize: bool = False,
                          title: str | None = "confusion matrix") -> None:
    """Draw a confusion matrix (rows: true class, columns: predicted) with each cell's
    count written in it, and save a PNG. ``normalize=True`` shows each row as fractions
    (the recall of each class on the diagonal)."""
    matrix = _numpy(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix: expected a square (K, K) array, got shape {matrix.shape}")
    k = matrix.shape[0]
    if k == 0:
        raise ValueError("matrix: expected at least one class, got shape (0, 0)")
    if matrix.dtype.kind not in "biuf" or not np.isfinite(matrix.astype(float)).all():
        raise ValueError(f"matrix: expected finite counts, got dtype {matrix.dtype}"
                         + (" with NaN or inf" if matrix.dtype.kind in "f" else ""))
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names: expected {k} names, got {len(names)}")
    values = matrix.astype(float)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    size = max(4.0, 0.5 * k + 2)
    figure = _new_figure((size, size))
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(values, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    threshold = values.max() / 2 if values.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(matrix[i, j])}"
            axes.text(j, i, text, ha="center", va="center", fontsize=8,
                      color="white" if values[i, j] > threshold else "black")
    axes.set_xticks(range(k), labels=names, rotation=45 if max(map(len, names)) > 2 else 0,
                    ha="right" if max(map(len, names)) > 2 else "center")
    axes.set_yticks(range(k), labels=names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if title:
        axes.set_title(title)
    _save(figure, path)
