"""Random-batch estimate of the ER energy and forces (Jin, Li, Liu, "Random Batch Methods
(RBM) for interacting particle systems", J. Comput. Phys. 400, 108877, 2020).

The N points are split at random into batches of size p (or p + 1 where p does not divide
N); pairs interact only inside their batch, with the pair term scaled by (N - 1)/(p - 1),
the inverse of the chance that a given pair shares a batch. The confinement is exact. For a
batch B of size q this is ``(q / N) * energy_and_forces(Z[B])`` (the engine's own
normalization), so the estimate calls the engine: one definition of the energy. Cost per
estimate O(N p d) instead of O(N^2 d); the estimate is unbiased when p divides N.
"""

from __future__ import annotations

import numpy as np

from particles.energy import EnergyParams, as_points, energy_and_forces

__all__ = ["random_batch_energy_and_forces"]


def random_batch_energy_and_forces(Z: np.ndarray, params: EnergyParams, batch_size: int,
                                   rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """Unbiased random-batch estimates of E(Z) and -dE/dZ (N, d), float64; see the module
    docstring. batch_size p: 2 <= p <= N (p = N is the exact evaluation)."""
    Z = as_points(Z)
    n = Z.shape[0]
    if int(batch_size) != batch_size or not 2 <= batch_size <= n:
        raise ValueError(f"batch_size must be an integer in [2, N = {n}], got {batch_size}")
    forces = np.empty(Z.shape, dtype=np.float64)
    total = 0.0
    for batch in np.array_split(rng.permutation(n), n // int(batch_size)):
        e, f = energy_and_forces(Z[batch], params)
        weight = len(batch) / n
        total += weight * e
        forces[batch] = weight * f
    return total, forces
