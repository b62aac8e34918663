"""particles: the ER energy, a Numba N-body engine, minimizers and H5MD trajectories.

Imports nothing from ``analysis`` or ``autoencoder`` and never imports torch.
"""

from particles.energy import (
    EnergyParams,
    energy,
    energy_and_forces,
    max_point_force,
    per_point_forces,
)
from particles.minimize import FireParams
from particles.random_batch import random_batch_energy_and_forces
from particles.relax import (
    DEFAULT_FMAX,
    RelaxationError,
    RelaxResult,
    length_scale,
    random_cloud,
    relax,
)

# Trajectory names load h5py on first use (PEP 562): `from particles import energy_and_forces`
# stays free of it (with SciPy, imported inside L-BFGS, ~60 MB less resident memory).
_TRAJECTORY = ("Trajectory", "TrajectoryError", "TrajectoryWriter", "read_last_positions",
               "read_trajectory")


def __getattr__(name: str):
    if name in _TRAJECTORY:
        from particles import trajectory

        return getattr(trajectory, name)
    raise AttributeError(f"module 'particles' has no attribute {name!r}")


__all__ = [
    "DEFAULT_FMAX",
    "EnergyParams",
    "FireParams",
    "RelaxResult",
    "RelaxationError",
    "Trajectory",
    "TrajectoryError",
    "TrajectoryWriter",
    "energy",
    "energy_and_forces",
    "length_scale",
    "max_point_force",
    "per_point_forces",
    "random_batch_energy_and_forces",
    "random_cloud",
    "read_last_positions",
    "read_trajectory",
    "relax",
]
