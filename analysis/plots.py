"""Figures (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis.theory import Prediction  # noqa: E402

__all__ = ["plot_radius_histogram", "plot_image_grid", "validation_figures"]


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


def validation_figures(data: dict, out_dir: Path) -> list[Path]:
    """The figures of ``eccentric validate`` from its data (see analysis.validate)."""
    out_dir = Path(out_dir)
    paths = []

    cases = data["support"]
    wanted = [(2, 0.0), (3, 1.0), (5, 2.0), (5, 1.0), (8, 2.0), (16, 14.0)]
    chosen = [c for w in wanted for c in cases if (c["d"], c["s"]) == w]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), dpi=110)
    for ax, case in zip(axes.ravel(), chosen, strict=False):
        radii = case["radii"]
        top = 1.1 * max(case["radius"] or 0.0, radii.max())
        ax.hist(radii, bins=np.linspace(0, top, 60), density=True, color="#4c72b0", alpha=0.85)
        if case["radius"] is not None:
            ax.axvline(case["radius"], color="#c44e52", ls="--", lw=1.5,
                       label=f"{case['support']} R = {case['radius']:.4f}")
            if case["support"] == "ball":
                r = np.linspace(0, case["radius"], 200)
                d = case["d"]
                ax.plot(r, d * r ** (d - 1) / case["radius"] ** d, color="#dd8452",
                        label="uniform ball")
            ax.legend(frameon=False, fontsize=8)
        ax.set_title(f"d = {case['d']}, s = {case['s']:g}, N = {case['n']} ({case['support']})",
                     fontsize=9)
        ax.set_xlabel("|z|")
    fig.tight_layout()
    paths.append(out_dir / "support.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    for tag, c in data["convergence"].items():
        if c["radius_error"].max() > 1e-6 * c["radius_theory"]:  # s = 0: exact, nothing to plot
            a.loglog(c["n"], c["radius_error"], "o-", label=f"{tag}: N^{c['rate_radius']:.2f}")
        b.loglog(c["n"], c["energy_error"], "o-", label=f"{tag}: N^{c['rate_energy']:.2f}")
    a.set_xlabel("N")
    a.set_ylabel("|R_N - R*|")
    b.set_xlabel("N")
    b.set_ylabel("|E_N - I*|")
    a.legend(frameon=False, fontsize=8)
    b.legend(frameon=False, fontsize=8)
    fig.suptitle("finite-N convergence to the continuum sphere equilibrium")
    fig.tight_layout()
    paths.append(out_dir / "convergence.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    sc = data["scale"]
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=110)
    ax.loglog(sc["lambda"], sc["radius"], "o", label="relaxed clouds")
    lam = np.geomspace(sc["lambda"][0], sc["lambda"][-1], 50)
    ax.loglog(lam, sc["radius"][0] * (lam / sc["lambda"][0]) ** sc["expected"], "--",
              label=f"slope 1/(s+2) = {sc['expected']:.4f}; fit {sc['exponent']:.4f}")
    ax.set_xlabel("repulsion lambda")
    ax.set_ylabel("mean radius")
    ax.set_title(f"scale, d = {sc['d']}, s = {sc['s']:g}")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "scale.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    ec = data["eccentricity"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    for k in range(ec["eigenvalues"].shape[1]):
        a.loglog(ec["beta"], ec["eigenvalues"][:, k], "-", lw=1)
    a.set_xlabel("beta")
    a.set_ylabel("covariance eigenvalues")
    a.set_title("tethered model: spectrum against beta")
    b.semilogx(ec["beta"], ec["eccentricity"], "o-", label="1 - lmin/lmax")
    b.semilogx(ec["beta"], ec["radius_cv"], "s-", label="radial cv")
    b.axhline(ec["anchor_eccentricity"], color="gray", ls=":", label="anchors")
    b.set_xlabel("beta")
    b.legend(frameon=False)
    fig.tight_layout()
    paths.append(out_dir / "eccentricity.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for method, m in data["minimizers"].items():
        ax.semilogy(m["history_max_force"], label=f"{method} ({m['wall_time_s']:.1f} s)")
    ax.set_xlabel("step")
    ax.set_ylabel("max per-point force")
    ax.set_title("minimizers on the same cloud")
    ax.legend(frameon=False)
    fig.tight_layout()
    paths.append(out_dir / "minimizers.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths
