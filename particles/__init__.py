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
from particles.relax import (
    DEFAULT_FMAX,
    RelaxationError,
    RelaxResult,
    length_scale,
    random_cloud,
    relax,
)
from particles.trajectory import (
    Trajectory,
    TrajectoryError,
    TrajectoryWriter,
    read_last_positions,
    read_trajectory,
)

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
    "random_cloud",
    "read_last_positions",
    "read_trajectory",
    "relax",
]
