"""The Eccentric Regularization energy: the one definition every backend calls.

Points ``Z`` have shape ``(N, d)`` with ``N >= 2``. With parameters ``s > -2``
(repulsion exponent), ``alpha > 0`` (attraction exponent), ``repulsion`` lambda
``> 0`` and ``softening`` eps ``>= 0``::

    E(Z) = (1/N) sum_i V(|z_i|) + lambda / (N (N-1)) * sum_{i<j} psi_s(r_ij)
    V(r)     = r**alpha / alpha
    psi_s(r) = (r**(-s) - 1) / s        (s != 0),   psi_0(r) = -log r
    r_ij     = sqrt(|z_i - z_j|**2 + eps**2)

``forces = -dE/dZ`` (shape ``(N, d)``, same normalization). The per-point force
``f_i = -N dE/dz_i`` does not depend on N and is what convergence is judged on.

The pair function (``psi_s`` of a squared distance) is separate from the Numba
loops that sum it over all pairs, so the physics is one small function and the
looping is elsewhere. Loops run in parallel over points, keep O(N d) memory
(never an N x N array) and accumulate in float64 for float32 and float64 input
alike. Each pair is visited from both ends (a full row per point), which keeps
threads free of write conflicts at the cost of evaluating each pair twice.

Coincident points with ``softening == 0``: the pair energy is ``+inf`` for
``s >= 0`` (finite ``-1/s`` for ``s < 0``) and the pair contributes no force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

__all__ = [
    "EnergyParams",
    "as_points",
    "energy",
    "energy_and_forces",
    "per_point_forces",
    "max_point_force",
]

# Kernel selectors: special cases of s that avoid a pow() per pair.
_S_GENERAL, _S_LOG, _S_ONE, _S_TWO, _S_MINUS_ONE = 0, 1, 2, 3, 4
# Attraction selectors: alpha == 2 is a plain square.
_ALPHA_GENERAL, _ALPHA_TWO = 0, 1


@dataclass(frozen=True)
class EnergyParams:
    """Parameters of the ER energy (see the module docstring for the formula).

    s: repulsion exponent, ``s > -2`` (1: Thomson/Coulomb-like, 0: log kernel,
    negative: bounded kernels). alpha: attraction exponent ``> 0``.
    repulsion: lambda ``> 0``, weight of the pair term. softening: eps ``>= 0``,
    added in quadrature to every pair distance.
    """

    s: float = 1.0
    alpha: float = 2.0
    repulsion: float = 1.0
    softening: float = 0.0

    def __post_init__(self) -> None:
        for name in ("s", "alpha", "repulsion", "softening"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise TypeError(f"EnergyParams.{name} must be a real number, got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"EnergyParams.{name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.s <= -2.0:
            raise ValueError(f"s must be > -2 (the pair energy is not integrable otherwise), got {self.s}")
        if self.alpha <= 0.0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.repulsion <= 0.0:
            raise ValueError(f"repulsion must be > 0, got {self.repulsion}")
        if self.softening < 0.0:
            raise ValueError(f"softening must be >= 0, got {self.softening}")

    def as_dict(self) -> dict[str, float]:
        return {"s": self.s, "alpha": self.alpha, "repulsion": self.repulsion,
                "softening": self.softening}


def _s_mode(s: float) -> int:
    if s == 0.0:
        return _S_LOG
    if s == 1.0:
        return _S_ONE
    if s == 2.0:
        return _S_TWO
    if s == -1.0:
        return _S_MINUS_ONE
    return _S_GENERAL


def _alpha_mode(alpha: float) -> int:
    return _ALPHA_TWO if alpha == 2.0 else _ALPHA_GENERAL


@numba.njit(cache=True, inline="always")
def _pair_psi_and_factor(r2: float, s: float, mode: int) -> tuple[float, float]:
    """psi_s at squared distance r2 and g = r**-(s+2), so that -dpsi/dz_i = g (z_i - z_j)."""
    if r2 == 0.0:
        if s < 0.0:
            return -1.0 / s, 0.0
        return np.inf, 0.0
    if mode == _S_LOG:
        return -0.5 * math.log(r2), 1.0 / r2
    if mode == _S_ONE:
        p = 1.0 / math.sqrt(r2)
        return p - 1.0, p / r2
    if mode == _S_TWO:
        p = 1.0 / r2
        return 0.5 * (p - 1.0), p * p
    if mode == _S_MINUS_ONE:
        p = math.sqrt(r2)
        return 1.0 - p, 1.0 / p
    x = -0.5 * s * math.log(r2)  # log(r**-s)
    return math.expm1(x) / s, math.exp(x) / r2  # expm1: exact as s -> 0, no cancellation


@numba.njit(cache=True, inline="always")
def _confinement(r2: float, alpha: float, mode: int) -> tuple[float, float]:
    """V(|z|) and h = |z|**(alpha-2), so that -dV/dz = -h z (0 at z = 0)."""
    if mode == _ALPHA_TWO:
        return 0.5 * r2, 1.0
    if r2 == 0.0:
        return 0.0, 0.0
    ra = math.exp(0.5 * alpha * math.log(r2))  # |z|**alpha
    return ra / alpha, ra / r2


@numba.njit(parallel=True, cache=True)
def _energy_forces_kernel(Z, s, alpha, repulsion, eps2, s_mode, a_mode, forces):
    n, d = Z.shape
    pair_weight = repulsion / (n * (n - 1.0))
    pair_row = np.empty(n)
    conf_row = np.empty(n)
    for i in numba.prange(n):
        r2i = 0.0
        for k in range(d):
            zi = np.float64(Z[i, k])
            r2i += zi * zi
        v, h = _confinement(r2i, alpha, a_mode)
        conf_row[i] = v
        for k in range(d):
            forces[i, k] = -h * np.float64(Z[i, k]) / n
        acc = 0.0
        for j in range(n):
            if j == i:
                continue
            r2 = eps2
            for k in range(d):
                diff = np.float64(Z[i, k]) - np.float64(Z[j, k])
                r2 += diff * diff
            psi, g = _pair_psi_and_factor(r2, s, s_mode)
            acc += psi
            gw = g * pair_weight
            for k in range(d):
                forces[i, k] += gw * (np.float64(Z[i, k]) - np.float64(Z[j, k]))
        pair_row[i] = acc
    return conf_row.sum() / n + 0.5 * pair_weight * pair_row.sum()


@numba.njit(parallel=True, cache=True)
def _energy_kernel(Z, s, alpha, repulsion, eps2, s_mode, a_mode):
    n, d = Z.shape
    pair_weight = repulsion / (n * (n - 1.0))
    pair_row = np.empty(n)
    conf_row = np.empty(n)
    for i in numba.prange(n):
        r2i = 0.0
        for k in range(d):
            zi = np.float64(Z[i, k])
            r2i += zi * zi
        conf_row[i] = _confinement(r2i, alpha, a_mode)[0]
        acc = 0.0
        for j in range(n):
            if j == i:
                continue
            r2 = eps2
            for k in range(d):
                diff = np.float64(Z[i, k]) - np.float64(Z[j, k])
                r2 += diff * diff
            acc += _pair_psi_and_factor(r2, s, s_mode)[0]
        pair_row[i] = acc
    return conf_row.sum() / n + 0.5 * pair_weight * pair_row.sum()


def as_points(Z: np.ndarray, name: str = "Z") -> np.ndarray:
    """Check that Z is a finite (N >= 2, d >= 1) float array; return it C-contiguous.

    float32 and float64 are kept; other numeric types become float64.
    """
    arr = np.asarray(Z)
    if arr.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (N, d), got shape {arr.shape}")
    n, d = arr.shape
    if n < 2:
        raise ValueError(f"{name} needs at least 2 points, got N = {n}")
    if d < 1:
        raise ValueError(f"{name} needs dimension d >= 1, got d = {d}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or inf in {bad} of {n} points")
    return np.ascontiguousarray(arr)


def _kernel_args(params: EnergyParams) -> tuple:
    return (params.s, params.alpha, params.repulsion, params.softening ** 2,
            _s_mode(params.s), _alpha_mode(params.alpha))


def energy(Z: np.ndarray, params: EnergyParams | None = None) -> float:
    """The ER energy E(Z) of points Z (N, d), as a Python float (float64 accumulation)."""
    params = EnergyParams() if params is None else params
    Z = as_points(Z)
    return float(_energy_kernel(Z, *_kernel_args(params)))


def energy_and_forces(Z: np.ndarray, params: EnergyParams | None = None
                      ) -> tuple[float, np.ndarray]:
    """E(Z) and forces -dE/dZ, shape (N, d) in Z's dtype (computed in float64)."""
    params = EnergyParams() if params is None else params
    Z = as_points(Z)
    forces = np.empty(Z.shape, dtype=np.float64)
    e = _energy_forces_kernel(Z, *_kernel_args(params), forces)
    return float(e), forces.astype(Z.dtype, copy=False)


def per_point_forces(forces: np.ndarray) -> np.ndarray:
    """Per-point forces f_i = -N dE/dz_i from ``energy_and_forces`` output (N-independent scale)."""
    return forces * forces.shape[0]


def max_point_force(forces: np.ndarray) -> float:
    """max_i |f_i| with f_i = -N dE/dz_i: the convergence criterion of every minimizer."""
    f = np.asarray(forces, dtype=np.float64)
    return float(np.sqrt(np.einsum("ij,ij->i", f, f)).max() * f.shape[0])
