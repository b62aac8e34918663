"""Figures (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis.theory import Prediction  # noqa: E402

__all__ = ["plot_radius_histogram", "plot_image_grid"]


def plot_radius_histogram(points: np.ndarray, prediction: Prediction, path: str | Path,
                          title: str = "") -> Path:
    """Histogram of the radii |z_i| of a cloud (N, d) against the predicted support radius.

    Left: the whole range 0..1.15 R. Right (sphere cases): the relative deviation |z|/R - 1,
    where the finite-N gap below R* shows. For a uniform ball the radial density d r^(d-1)/R^d is
    drawn too.
    """
    pts = np.asarray(points, dtype=np.float64)
    radii = np.linalg.norm(pts, axis=1)
    dim = pts.shape[1]
    radius = prediction.radius
    panels = 2 if prediction.support == "sphere" and radius is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), dpi=120, squeeze=False)
    ax = axes[0, 0]
    top = 1.15 * max(radius or 0.0, radii.max())
    ax.hist(radii, bins=np.linspace(0, top, 80), density=True, color="#4c72b0", alpha=0.85,
            label=f"N = {len(radii)}")
    if radius is not None:
        ax.axvline(radius, color="#c44e52", lw=1.5, ls="--",
                   label=f"theory: {prediction.support}, R = {radius:.5f}")
        if prediction.support == "ball":
            r = np.linspace(0, radius, 200)
            ax.plot(r, dim * r ** (dim - 1) / radius ** dim, color="#dd8452", lw=1.5,
                    label="uniform-ball radial density")
    if panels == 2:
        dev = radii / radius - 1.0
        ax2 = axes[0, 1]
        ax2.hist(dev, bins=60, color="#4c72b0", alpha=0.85)
        ax2.axvline(0.0, color="#c44e52", lw=1.5, ls="--", label="theory")
        ax2.set_xlabel("|z| / R - 1")
        ax2.set_ylabel("count")
        ax2.set_title(f"relative deviation: mean {dev.mean():+.2e}")
        ax2.legend(frameon=False)
    ax.set_xlabel("radius |z|")
    ax.set_ylabel("density")
    ax.set_title(title or f"radial distribution, d = {dim}")
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_image_grid(images: np.ndarray, path: str | Path, title: str = "",
                    row_labels: list[str] | None = None) -> Path:
    """A grid of grayscale images (rows, cols, H, W) in [0, 1], one PNG."""
    images = np.asarray(images)
    rows, cols = images.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols + 0.8, 1.1 * rows + 0.5), dpi=120,
                             squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(images[r, c], cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
