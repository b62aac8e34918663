import gzip

import numpy as np
import pytest
import torch

from autoencoder.data import FASHION_MNIST_DIR, DataError, load_dataset, read_idx


def write_idx(path, array, compress=False):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def make_idx_dir(root, n_train=20, n_test=10, compress=False):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}",
                  rng.integers(0, 256, size=(n, 28, 28)), compress)
        write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", rng.integers(0, 10, size=n),
                  compress)
    return root


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "x", data, compress)), data)


def test_idx_rejects_bad_magic_and_sizes(tmp_path):
    good = write_idx(tmp_path / "good", np.zeros((2, 3, 3)))
    (tmp_path / "magic").write_bytes(b"\x01\x02" + good.read_bytes()[2:])
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(tmp_path / "magic")
    (tmp_path / "short").write_bytes(good.read_bytes()[:-1])
    with pytest.raises(DataError, match="header"):
        read_idx(tmp_path / "short")
    (tmp_path / "tiny").write_bytes(b"\x00\x00\x08\x03\x00")
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "tiny")
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "missing")


@pytest.mark.parametrize("compress", [False, True])
def test_idx_directory_splits(tmp_path, compress):
    data = load_dataset("idx", make_idx_dir(tmp_path, compress=compress))
    assert data.train[0].shape == (20, 1, 28, 28) and data.val[0].shape == (5, 1, 28, 28)
    assert data.test[0].shape == (5, 1, 28, 28) and data.train[0].dtype == torch.float32
    assert 0.0 <= data.train[0].min() and data.train[0].max() <= 1.0
    again = load_dataset("idx", tmp_path)
    assert torch.equal(again.test[0], data.test[0])


def test_mismatched_idx_files(tmp_path):
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(7))
    with pytest.raises(DataError, match="do not match"):
        load_dataset("idx", tmp_path)


def test_missing_datasets_name_the_fix(tmp_path):
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("idx")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("fashion-mnist", tmp_path / "nowhere")
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar")
    if not FASHION_MNIST_DIR.is_dir():
        with pytest.raises(DataError, match="dataset-fashion-mnist"):
            load_dataset("fashion-mnist")


def test_embedded_datasets_are_real_and_split_deterministically():
    mnist = load_dataset("mnist-sample")
    assert [len(split[1]) for split in (mnist.train, mnist.val, mnist.test)] == [3500, 500, 1000]
    assert mnist.image_shape == (1, 28, 28)
    assert sorted(torch.unique(mnist.test[1]).tolist()) == list(range(10))
    assert torch.equal(load_dataset("mnist-sample").test[0], mnist.test[0])
    digits = load_dataset("digits")
    assert digits.image_shape == (1, 8, 8)
    assert sum(len(s[1]) for s in (digits.train, digits.val, digits.test)) == 1797


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian():
    data = load_dataset("fashion-mnist")
    assert data.train[0].shape == (60000, 1, 28, 28)
    assert len(data.val[1]) == len(data.test[1]) == 5000
