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

# The rest loads on first use (PEP 562), so `from particles import energy_and_forces` does not
# pay for SciPy (L-BFGS) and h5py (trajectories): ~60 MB of resident memory.
_LAZY = {
    "FireParams": "particles.minimize",
    "DEFAULT_FMAX": "particles.relax", "RelaxationError": "particles.relax",
    "RelaxResult": "particles.relax", "length_scale": "particles.relax",
    "random_cloud": "particles.relax", "relax": "particles.relax",
    "Trajectory": "particles.trajectory", "TrajectoryError": "particles.trajectory",
    "TrajectoryWriter": "particles.trajectory", "read_last_positions": "particles.trajectory",
    "read_trajectory": "particles.trajectory",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'particles' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


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
