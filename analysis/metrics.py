"""Geometry of point clouds (N, d) and trajectories (T, N, d): one set of numbers for
relaxed particles and autoencoder latents alike."""

from __future__ import annotations

import numpy as np

__all__ = ["radial_summary"]


def radial_summary(points: np.ndarray) -> dict[str, float]:
    """Statistics of the radii |z_i| of a cloud (N, d): mean, std (population), cv = std/mean,
    min and max. cv is ~0 on a sphere and 1/sqrt(d (d+2)) for a uniform ball (0.258 in d = 3)."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < 1:
        raise ValueError(f"points must have shape (N, d) with N >= 1, got {pts.shape}")
    radii = np.linalg.norm(pts, axis=1)
    mean = float(radii.mean())
    std = float(radii.std())
    return {"radius_mean": mean, "radius_std": std,
            "radius_cv": std / mean if mean > 0 else 0.0,  # all points at 0: no spread
            "radius_min": float(radii.min()), "radius_max": float(radii.max())}
