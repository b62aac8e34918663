"""The tethered ER model: the particle picture of "reconstruction + beta * ER".

Each point is tied to a fixed anchor a_i (rows of ``anchors``, shape (N, d)) by a spring::

    T(Z) = (1/N) sum_i |z_i - a_i|^2 / 2  +  beta * E(Z)

with E the ER energy of ``particles.energy``. Small beta keeps the anchors' eccentricity; large
beta rounds the cloud toward the ER equilibrium.
"""

from __future__ import annotations

import numpy as np

from particles.energy import EnergyParams, energy_and_forces

__all__ = ["tethered_energy_and_forces"]


def tethered_energy_and_forces(Z: np.ndarray, anchors: np.ndarray, beta: float,
                               params: EnergyParams) -> tuple[float, np.ndarray]:
    """T(Z) and -dT/dZ (N, d) for points Z and anchors of the same shape, weight beta >= 0."""
    if anchors.shape != np.shape(Z):
        raise ValueError(f"anchors must have the shape of Z {np.shape(Z)}, got {anchors.shape}")
    if not (np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    n = anchors.shape[0]
    e, forces = energy_and_forces(Z, params)
    pull = np.asarray(Z, dtype=np.float64) - anchors
    value = 0.5 * float(np.einsum("ij,ij->", pull, pull)) / n + beta * e
    return value, beta * forces - pull / n
