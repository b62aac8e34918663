import json

import numpy as np
import pytest
import torch

from autoencoder.data import load_dataset
from autoencoder.train import TrainConfig, TrainingError, train
from particles import read_trajectory


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def config(**kwargs):
    base = {"data": "digits", "latent_dim": 4, "epochs": 2, "batch_size": 64, "lr": 3e-3,
            "weight": 0.1}
    return TrainConfig(**{**base, **kwargs})


def test_training_writes_checkpoint_trajectory_and_metrics(tmp_path, digits):
    metrics = train(config(), tmp_path, data=digits)
    assert metrics["test_mse"] < 0.9 * metrics["untrained_test_mse"]
    for key in ("regularizer", "radius_cv", "covariance_eigenvalues", "eccentricity",
                "effective_rank", "epoch_time_s"):
        assert key in metrics
    assert len(metrics["covariance_eigenvalues"]) == 4
    assert json.loads((tmp_path / "metrics.json").read_text())["test_mse"] == metrics["test_mse"]
    traj = read_trajectory(tmp_path / "trajectory.h5")
    assert traj.group == "latent" and list(traj.step) == [0, 1, 2]
    assert traj.positions.shape == (3, len(digits.test[1]), 4)
    np.testing.assert_array_equal(traj.fixed["label"], digits.test[1].numpy())
    assert list(traj.observables["val_reconstruction"][0]) == [0, 1, 2]
    assert list(traj.observables["train_regularizer"][0]) == [1, 2]
    assert traj.parameters["training"]["latent_dim"] == 4
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert state["epoch"] == 2 and state["config"]["data"] == "digits"


def test_pyh5md_opens_a_training_trajectory(tmp_path, digits):
    pyh5md = pytest.importorskip("pyh5md")
    train(config(epochs=1), tmp_path, data=digits)
    with pyh5md.File(str(tmp_path / "trajectory.h5"), "r") as f:
        pos = pyh5md.element(f["particles/latent"], "position")
        assert pos.value.shape[0] == 2


def test_resume_reproduces_an_uninterrupted_run(tmp_path, digits):
    straight = train(config(epochs=3), tmp_path / "a", data=digits)
    train(config(epochs=1), tmp_path / "b", data=digits)
    resumed = train(config(epochs=3), tmp_path / "b", resume=True, data=digits)
    assert resumed["test_mse"] == straight["test_mse"]
    a = read_trajectory(tmp_path / "a" / "trajectory.h5")
    b = read_trajectory(tmp_path / "b" / "trajectory.h5")
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.observables["train_total"][1], b.observables["train_total"][1])


def test_resume_refuses_another_latent_size(tmp_path, digits):
    train(config(epochs=1), tmp_path, data=digits)
    before = (tmp_path / "model.pt").read_bytes()
    with pytest.raises(TrainingError, match="latent_dim 4 but --latent-dim is 8"):
        train(config(latent_dim=8), tmp_path, resume=True, data=digits)
    assert (tmp_path / "model.pt").read_bytes() == before


def test_existing_run_is_not_replaced_without_a_flag(tmp_path, digits):
    train(config(epochs=1), tmp_path, data=digits)
    with pytest.raises(TrainingError, match="--resume.*--overwrite"):
        train(config(epochs=1), tmp_path, data=digits)
    with pytest.raises(TrainingError, match="no checkpoint"):
        train(config(), tmp_path / "empty", resume=True, data=digits)


def test_divergence_stops_with_a_clear_error_and_intact_outputs(tmp_path, digits):
    train(config(epochs=1), tmp_path, data=digits)
    with pytest.raises(TrainingError, match="diverged: loss is (nan|inf)"):
        train(config(epochs=3, lr=1e30, weight=1e30), tmp_path, resume=True, data=digits)
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert state["epoch"] == 1
    assert read_trajectory(tmp_path / "trajectory.h5").n_frames == 2


def test_unregularized_training_and_conv_model(tmp_path):
    mnist = load_dataset("mnist-sample")
    small = type(mnist)("mnist-sample", (mnist.train[0][:256], mnist.train[1][:256]),
                        (mnist.val[0][:64], mnist.val[1][:64]),
                        (mnist.test[0][:64], mnist.test[1][:64]))
    metrics = train(TrainConfig(model="conv", reg="none", epochs=1, batch_size=64), tmp_path,
                    data=small)
    assert metrics["reg"] == "none" and np.isfinite(metrics["test_mse"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"model": "vit"}, "--model"), ({"reg": "l2"}, "--reg"), ({"latent_dim": 0}, "--latent-dim"),
     ({"batch_size": 1}, "--batch-size"), ({"weight": -1.0}, "--weight"), ({"lr": 0.0}, "--lr"),
     ({"s": -3.0}, "s must be > -2")])
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)
