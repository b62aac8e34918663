"""A plain NumPy transcription of the ER energy and forces by N x N (x d) broadcasting.

Not for use: it needs O(N^2 d) memory and is slow. It exists as the obviously-correct
reference the Numba kernel is tested against, and as the naive baseline of the benchmarks.
"""

import numpy as np

from particles.energy import EnergyParams


def reference_energy_and_forces(Z: np.ndarray, p: EnergyParams) -> tuple[float, np.ndarray]:
    """E(Z) and -dE/dZ for Z (N, d), float64, straight from the formula in particles.energy."""
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    radii = np.linalg.norm(Z, axis=1)
    confinement = np.sum(radii ** p.alpha / p.alpha) / n
    diff = Z[:, None, :] - Z[None, :, :]
    r = np.sqrt(np.sum(diff ** 2, axis=-1) + p.softening ** 2)
    iu = np.triu_indices(n, 1)
    rp = r[iu]
    log_inv_r = -np.log(rp)
    x = p.s * log_inv_r  # psi = (r^-s - 1)/s = log(1/r) expm1(x)/x, exact even for subnormal s
    with np.errstate(invalid="ignore", divide="ignore"):
        psi = log_inv_r * np.where(x != 0, np.expm1(x) / np.where(x != 0, x, 1.0), 1.0)
    e = confinement + p.repulsion / (n * (n - 1)) * psi.sum()
    np.fill_diagonal(r, 1.0)
    g = r ** (-p.s - 2.0)
    np.fill_diagonal(g, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(radii > 0, radii ** (p.alpha - 2.0), 0.0)
    forces = -h[:, None] * Z / n + p.repulsion / (n * (n - 1)) * np.einsum("ij,ijk->ik", g, diff)
    return float(e), forces
