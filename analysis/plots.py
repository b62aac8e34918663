"""Figures (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis.theory import Prediction  # noqa: E402

__all__ = ["plot_radius_histogram"]


def plot_radius_histogram(points: np.ndarray, prediction: Prediction, path: str | Path,
                          title: str = "") -> Path:
    """Histogram of the radii |z_i| of a cloud (N, d) against the predicted support radius.

    For a uniform ball the predicted radial density d r^(d-1) / R^d is drawn too.
    """
    pts = np.asarray(points, dtype=np.float64)
    radii = np.linalg.norm(pts, axis=1)
    dim = pts.shape[1]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.hist(radii, bins=60, density=True, color="#4c72b0", alpha=0.8, label=f"N = {len(radii)}")
    if prediction.radius is not None:
        ax.axvline(prediction.radius, color="#c44e52", lw=2,
                   label=f"theory: {prediction.support}, R = {prediction.radius:.5f}")
        if prediction.support == "ball":
            r = np.linspace(0, prediction.radius, 200)
            ax.plot(r, dim * r ** (dim - 1) / prediction.radius ** dim, color="#dd8452",
                    lw=1.5, label="uniform-ball radial density")
    ax.set_xlabel("radius |z|")
    ax.set_ylabel("density")
    ax.set_title(title or f"radial distribution, d = {dim}")
    ax.legend(frameon=False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
