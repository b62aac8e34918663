"""Training of ER-regularized autoencoders: Adam on reconstruction MSE + weight * ER energy of
each batch's latent codes, with a checkpoint and a latent-trajectory frame every epoch.

Run folder layout::

    RUN_DIR/model.pt         last completed epoch: config, model and optimizer state (plain
                             tensors and dicts only, loaded with weights_only=True)
    RUN_DIR/trajectory.h5    H5MD: /particles/latent/position = codes of a fixed probe set
                             (up to 1,000 test images, labels in /particles/latent/label) at
                             every epoch (step = epoch, 0 = untrained); observables
                             train_reconstruction, train_regularizer, train_total,
                             val_reconstruction
    RUN_DIR/metrics.json     final metrics (also returned by ``train``)
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from autoencoder.data import ImageSplits, load_dataset
from autoencoder.models import MODELS, build_model
from autoencoder.regularizer import EccentricRegularizer
from particles import EnergyParams, TrajectoryWriter

__all__ = ["TrainConfig", "TrainingError", "train", "reconstruction_mse", "encode",
           "principal_traversal", "load_model"]

REGULARIZERS = ("er", "none")


class TrainingError(RuntimeError):
    """Training cannot start or went wrong (diverged, incompatible checkpoint)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint and the trajectory)."""

    data: str = "mnist-sample"
    data_dir: str | None = None
    model: str = "mlp"
    latent_dim: int = 16
    reg: str = "er"
    weight: float = 1.0
    s: float = 1.0
    alpha: float = 2.0
    repulsion: float = 1.0
    softening: float = 0.0
    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0
    probe_size: int = 1000

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"--model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.reg not in REGULARIZERS:
            raise ValueError(f"--reg must be one of {', '.join(REGULARIZERS)}, got {self.reg!r}")
        checks = [("--latent-dim", self.latent_dim, 1), ("--epochs", self.epochs, 0),
                  ("--batch-size", self.batch_size, 2), ("--probe-size", self.probe_size, 2)]
        for flag, value, low in checks:
            if int(value) != value or value < low:
                raise ValueError(f"{flag} must be an integer >= {low}, got {value}")
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"--weight must be a finite number >= 0, got {self.weight}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"--lr must be a positive number, got {self.lr}")
        self.energy_params()  # validates s, alpha, repulsion, softening

    def energy_params(self) -> EnergyParams:
        return EnergyParams(s=self.s, alpha=self.alpha, repulsion=self.repulsion,
                            softening=self.softening)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# what must agree between a checkpoint and a resumed run (the rest may change, e.g. epochs)
_ARCHITECTURE = ("data", "model", "latent_dim")


def _batches(n: int, batch_size: int, generator: torch.Generator | None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if len(idx) >= 2:
            yield idx


@torch.no_grad()
def encode(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Latent codes (N, latent_dim) of images (N, C, H, W), in eval mode."""
    model.eval()
    return torch.cat([model.encode(images[i:i + batch_size])
                      for i in range(0, len(images), batch_size)])


@torch.no_grad()
def reconstruction_mse(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean squared error per pixel of the reconstructions of images (N, C, H, W)."""
    model.eval()
    total = 0.0
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size]
        total += float(((model(x)[0] - x) ** 2).sum())
    return total / images.numel()


def _save_checkpoint(path: Path, config: TrainConfig, epoch: int, model: nn.Module,
                     optimizer: torch.optim.Optimizer, extra: dict[str, Any]) -> None:
    tmp = path.with_suffix(".pt.tmp")
    torch.save({"config": config.as_dict(), "epoch": epoch, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "extra": extra}, tmp)
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written checkpoint


def _load_checkpoint(path: Path, config: TrainConfig) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same message
        raise TrainingError(f"--resume: cannot read checkpoint {path} ({type(exc).__name__})"
                            ) from None
    saved = state.get("config", {})
    for key in _ARCHITECTURE:
        if saved.get(key) != getattr(config, key):
            flag = "--" + key.replace("_", "-")
            raise TrainingError(f"--resume: checkpoint {path} has {key} {saved.get(key)!r} but "
                                f"{flag} is {getattr(config, key)!r}")
    return state


def train(config: TrainConfig, out_dir: str | Path, *, resume: bool = False,
          overwrite: bool = False, progress: bool = False,
          data: ImageSplits | None = None,
          on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
          ) -> dict[str, Any]:
    """Train (or resume) a run into out_dir and return its final metrics.

    data: preloaded splits (default: ``load_dataset(config.data, config.data_dir)``).
    on_epoch_end(epoch, losses) is called after every epoch.
    """
    from tqdm import tqdm

    from analysis.metrics import cloud_geometry

    out_dir = Path(out_dir)
    checkpoint = out_dir / "model.pt"
    trajectory = out_dir / "trajectory.h5"
    if resume and not checkpoint.is_file():
        raise TrainingError(f"--resume: no checkpoint {checkpoint}")
    if not resume and not overwrite and (checkpoint.exists() or trajectory.exists()):
        raise TrainingError(f"run folder {out_dir} already holds a run; pass --resume to "
                            "continue it or --overwrite to replace it")
    data = data or load_dataset(config.data, config.data_dir)
    torch.manual_seed(config.seed)
    model = build_model(config.model, data.image_shape, config.latent_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    regularizer = EccentricRegularizer(config.energy_params())
    x_train, _ = data.train
    x_val, _ = data.val
    x_test, y_test = data.test
    n_probe = min(config.probe_size, len(x_test))
    probe_x, probe_y = x_test[:n_probe], y_test[:n_probe]

    start_epoch, extra = 1, {}
    if resume:
        state = _load_checkpoint(checkpoint, config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:  # a resumed run takes the --lr it is given
            group["lr"] = config.lr
        start_epoch, extra = int(state["epoch"]) + 1, dict(state.get("extra", {}))
        writer = TrajectoryWriter.reopen(trajectory, truncate_after=int(state["epoch"]))
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        extra = {"untrained_test_mse": reconstruction_mse(model, x_test),
                 "image_shape": list(data.image_shape)}
        writer = TrajectoryWriter(
            trajectory, n_particles=n_probe, dimension=config.latent_dim, group="latent",
            dtype=np.float32, overwrite=overwrite,
            parameters={"training": {k: ("" if v is None else v)
                                     for k, v in config.as_dict().items()},
                        "energy": config.energy_params().as_dict(), "seed": config.seed,
                        "command_line": " ".join(sys.argv)})
        writer.write_fixed("label", probe_y.numpy())
        writer.write(0, encode(model, probe_x).numpy(),
                     observables={"val_reconstruction": reconstruction_mse(model, x_val)})
        _save_checkpoint(checkpoint, config, 0, model, optimizer, extra)

    epoch_times: list[float] = list(extra.get("epoch_times", []))
    try:
        for epoch in range(start_epoch, config.epochs + 1):
            started = time.perf_counter()
            model.train()
            generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
            sums = {"reconstruction": 0.0, "regularizer": 0.0, "total": 0.0}
            seen = 0
            batches = list(_batches(len(x_train), config.batch_size, generator))
            bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                       disable=not progress, file=sys.stderr, leave=False)
            for step, idx in enumerate(bar):
                x = x_train[idx]
                recon, z = model(x)
                rec = ((recon - x) ** 2).mean()
                reg = regularizer(z) if config.reg == "er" else torch.zeros((), dtype=rec.dtype)
                loss = rec + config.weight * reg
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"training diverged: loss is {float(loss.detach())} at epoch {epoch}, batch "
                        f"{step}; lower --lr or --weight (last good checkpoint: epoch "
                        f"{epoch - 1})")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for key, value in (("reconstruction", rec), ("regularizer", reg),
                                   ("total", loss)):
                    sums[key] += float(value.detach()) * len(idx)
                seen += len(idx)
                bar.set_postfix(loss=f"{float(loss.detach()):.4g}", refresh=False)
            bar.close()
            losses = {f"train_{k}": v / seen for k, v in sums.items()}
            losses["val_reconstruction"] = reconstruction_mse(model, x_val)
            writer.write(epoch, encode(model, probe_x).numpy(), observables=losses)
            epoch_times.append(time.perf_counter() - started)
            extra["epoch_times"] = epoch_times
            _save_checkpoint(checkpoint, config, epoch, model, optimizer, extra)
            if on_epoch_end is not None:
                on_epoch_end(epoch, losses)
    finally:
        writer.close()

    probe = encode(model, probe_x)
    geometry = cloud_geometry(probe.numpy())
    metrics = {
        "data": config.data, "model": config.model, "latent_dim": config.latent_dim,
        "reg": config.reg, "weight": config.weight, "s": config.s,
        "repulsion": config.repulsion, "epochs": config.epochs, "seed": config.seed,
        "test_mse": reconstruction_mse(model, x_test),
        "untrained_test_mse": extra["untrained_test_mse"],
        "regularizer": float(regularizer(probe.double())),
        **geometry,
        "epoch_time_s": float(np.median(epoch_times)) if epoch_times else None,
        "n_train": len(x_train), "n_probe": n_probe, "out": str(out_dir),
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics



@torch.no_grad()
def principal_traversal(model: nn.Module, latents: torch.Tensor, n_components: int = 4,
                        steps: int = 7, span: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Decode walks along the top principal components of latent codes (N, d).

    Row k holds decode(mean + t sqrt(lambda_k) v_k) for t in linspace(-span, span, steps):
    images of shape (n_components, steps, H, W), and the eigenvalues lambda_k used.
    """
    z = latents.double()
    mean = z.mean(0)
    eigenvalues, vectors = torch.linalg.eigh(torch.cov(z.T).reshape(z.shape[1], z.shape[1]))
    order = torch.argsort(eigenvalues, descending=True)[:n_components]
    ts = torch.linspace(-span, span, steps, dtype=z.dtype)
    rows = []
    model.eval()
    for k in order:
        walk = mean + ts[:, None] * eigenvalues[k].clamp_min(0).sqrt() * vectors[:, k]
        rows.append(model.decode(walk.to(latents.dtype))[:, 0].numpy())
    return np.stack(rows), eigenvalues[order].numpy()


def load_model(run_dir: str | Path) -> tuple[nn.Module, TrainConfig, int]:
    """The model of a run folder's last checkpoint, its config and its epoch."""
    path = Path(run_dir) / "model.pt"
    if not path.is_file():
        raise TrainingError(f"no checkpoint {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    config = TrainConfig(**state["config"])
    model = build_model(config.model, tuple(state["extra"]["image_shape"]), config.latent_dim)
    model.load_state_dict(state["model"])
    model.eval()
    return model, config, int(state["epoch"])
