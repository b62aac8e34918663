"""Explicit projection onto the unit sphere: the baseline that ER avoids.

Minimizes the pair part of the ER energy (the Riesz s-energy, "minimum hyperspherical
energy") over points constrained to the unit sphere S^(d-1). The constraint is built into the
parametrization x_i = y_i / |y_i|: the unconstrained y are relaxed by the same minimizers as
free clouds, with gradient (I - x_i x_i^T) grad_x / |y_i|, so every step stays on the sphere.
The energy itself is ``particles.energy`` (radial confinement is constant on the sphere and
its force is radial, which the projection removes): there is still one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from particles.energy import EnergyParams, as_points, energy, energy_and_forces
from particles.relax import DEFAULT_FMAX, relax

__all__ = ["pair_sum", "riesz_sum", "relax_on_sphere", "SphereResult", "random_sphere_points"]


def pair_sum(points: np.ndarray, s: float) -> float:
    """sum_{i<j} psi_s(|x_i - x_j|) for points (N, d), from the ER energy with lambda = 1."""
    X = as_points(points)
    n = X.shape[0]
    params = EnergyParams(s=s)
    confinement = 0.5 * float(np.einsum("ij,ij->", X, X, dtype=np.float64)) / n
    return (energy(X, params) - confinement) * n * (n - 1)


def riesz_sum(points: np.ndarray, s: float) -> float:
    """The Riesz s-energy sum_{i<j} |x_i - x_j|^(-s) (s != 0) or sum_{i<j} -log|x_i - x_j|
    (s = 0); s = 1 on S^2 is the Thomson problem's energy."""
    n = np.asarray(points).shape[0]
    total = pair_sum(points, s)
    return total if s == 0 else s * total + n * (n - 1) / 2


def random_sphere_points(n: int, dim: int, seed: int | None = 0) -> np.ndarray:
    """N points uniform on the unit sphere S^(dim-1)."""
    g = np.random.default_rng(seed).standard_normal((n, dim))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


@dataclass
class SphereResult:
    """Minimum found on the unit sphere: points (N, d) of unit norm, sum_{i<j} psi_s, the
    Riesz sum, the largest tangential per-point force, steps and convergence."""

    positions: np.ndarray
    pair_sum: float
    riesz_sum: float
    max_force: float
    steps: int
    converged: bool
    reason: str


def relax_on_sphere(points: np.ndarray, s: float, *, method: str = "lbfgs",
                    fmax: float = DEFAULT_FMAX, steps: int = 100_000) -> SphereResult:
    """Minimize the Riesz s-energy of points on the unit sphere, starting from points (N, d)
    (normalized first). Convergence is on the tangential per-point force of the normalized
    pair energy (1/(N(N-1))) sum_{i<j} psi_s, the scale used for free clouds."""
    Y0 = as_points(points).astype(np.float64)
    norms = np.linalg.norm(Y0, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("points on the sphere cannot start at the origin")
    params = EnergyParams(s=s)

    def on_sphere(Y: np.ndarray) -> tuple[float, np.ndarray]:
        r = np.linalg.norm(Y, axis=1, keepdims=True)
        X = Y / r
        e, forces = energy_and_forces(X, params)
        tangential = forces - np.einsum("ij,ij->i", forces, X)[:, None] * X
        return e, tangential / r

    result = relax(Y0 / norms, params, method=method, fmax=fmax, steps=steps,
                   objective=on_sphere)
    X = result.positions / np.linalg.norm(result.positions, axis=1, keepdims=True)
    return SphereResult(positions=X, pair_sum=pair_sum(X, s), riesz_sum=riesz_sum(X, s),
                        max_force=result.max_force, steps=result.steps,
                        converged=result.converged, reason=result.reason)
