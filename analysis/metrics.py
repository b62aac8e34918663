"""Geometry of point clouds (N, d) and trajectories (T, N, d): one set of numbers for
relaxed particles and autoencoder latents alike."""

from __future__ import annotations

import numpy as np

__all__ = ["radial_summary", "covariance_eigenvalues", "eccentricity", "effective_rank",
           "spectral_anisotropy", "cloud_geometry", "trajectory_geometry"]


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


def covariance_eigenvalues(points: np.ndarray) -> np.ndarray:
    """Eigenvalues of the covariance of a cloud (N, d) (about its mean), in descending order."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < 2:
        raise ValueError(f"points must have shape (N, d) with N >= 2, got {pts.shape}")
    cov = np.cov(pts, rowvar=False).reshape(pts.shape[1], pts.shape[1])
    return np.clip(np.linalg.eigvalsh(cov)[::-1], 0.0, None)


def eccentricity(eigenvalues: np.ndarray) -> float:
    """1 - lambda_min / lambda_max of covariance eigenvalues: 0 for a round cloud, -> 1 as one
    direction dominates."""
    ev = np.asarray(eigenvalues, dtype=np.float64)
    return float(1.0 - ev.min() / ev.max()) if ev.max() > 0 else 0.0


def effective_rank(eigenvalues: np.ndarray) -> float:
    """exp of the Shannon entropy of the normalized eigenvalues (Roy & Vetterli 2007): d for a
    round cloud, 1 when a single direction carries all the variance."""
    ev = np.asarray(eigenvalues, dtype=np.float64)
    p = ev[ev > 0] / ev.sum()
    return float(np.exp(-(p * np.log(p)).sum())) if p.size else 0.0


def spectral_anisotropy(eigenvalues: np.ndarray) -> float:
    """1 - effective_rank / d: 0 when all d directions carry equal variance, -> 1 - 1/d when
    one does. Unlike ``eccentricity`` it is not decided by the single smallest direction."""
    ev = np.asarray(eigenvalues, dtype=np.float64)
    return float(1.0 - effective_rank(ev) / ev.size)


def cloud_geometry(points: np.ndarray) -> dict:
    """Radial statistics, covariance spectrum (descending), eccentricity, spectral anisotropy
    and effective rank of a cloud (N, d)."""
    ev = covariance_eigenvalues(points)
    return {**radial_summary(points), "covariance_eigenvalues": ev.tolist(),
            "eccentricity": eccentricity(ev), "spectral_anisotropy": spectral_anisotropy(ev),
            "effective_rank": effective_rank(ev)}


def trajectory_geometry(positions: np.ndarray) -> dict[str, np.ndarray]:
    """``cloud_geometry`` of every frame of a trajectory (T, N, d), stacked over T: arrays
    radius_mean[T], ..., covariance_eigenvalues[T, d], eccentricity[T], effective_rank[T]."""
    frames = np.asarray(positions)
    if frames.ndim != 3:
        raise ValueError(f"positions must have shape (T, N, d), got {frames.shape}")
    rows = [cloud_geometry(f) for f in frames]
    return {key: np.asarray([row[key] for row in rows]) for key in rows[0]}
