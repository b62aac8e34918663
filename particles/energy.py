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
looping is elsewhere. Each pair is evaluated once (Newton's third law); the loops
run in parallel, keep O(threads N d) memory (never an N x N array) and accumulate
in float64 for float32 and float64 input alike.

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
    "largest_row_norm",
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


# Reassociation and FMA contraction let LLVM vectorize the sums over j; no "nnan"/"ninf",
# because +inf is a legitimate pair energy (coincident points).
_FASTMATH = {"reassoc", "contract", "nsz"}
_BLOCK = 256  # partner points per block: r2 and g of a block stay in L1


@numba.njit(cache=True, inline="always", fastmath=_FASTMATH, error_model="numpy")
def _pair_psi_and_factor(r2: float, s: float, mode: int) -> tuple[float, float]:
    """psi_s at squared distance r2 and g = r**-(s+2), so that -dpsi/dz_i = g (z_i - z_j).

    At r2 = 0 psi is the right limit (+inf for s >= 0, -1/s for s < 0); g is not (caller).
    Special s avoid log/exp; the general case uses expm1, exact as s -> 0 (no cancellation).
    """
    if mode == _S_LOG:
        return -0.5 * math.log(r2), 1.0 / r2
    if mode == _S_ONE:
        p = 1.0 / math.sqrt(r2)
        return p - 1.0, p * p * p
    if mode == _S_TWO:
        p = 1.0 / r2
        return 0.5 * (p - 1.0), p * p
    if mode == _S_MINUS_ONE:
        p = math.sqrt(r2)
        return 1.0 - p, 1.0 / p
    log_inv_r = -0.5 * math.log(r2)
    x = s * log_inv_r
    em1 = math.expm1(x)  # r**-s - 1
    # psi = log(1/r) expm1(x)/x: exact for every s, down to subnormal s where x underflows
    return log_inv_r * (em1 / x if x != 0.0 else 1.0), (em1 + 1.0) / r2


@numba.njit(cache=True, inline="always", fastmath=_FASTMATH, error_model="numpy")
def _pair_range(r2, g, lo, hi, s, mode):
    """Sum of psi over r2[lo:hi], and g[jj] = r**-(s+2). One plain loop per mode (the mode is
    fixed outside the loop), so each compiles to SIMD code."""
    acc = 0.0
    if mode == _S_ONE:
        for jj in range(lo, hi):
            psi, gj = _pair_psi_and_factor(r2[jj], s, _S_ONE)
            acc += psi
            g[jj] = gj
    elif mode == _S_LOG:
        for jj in range(lo, hi):
            psi, gj = _pair_psi_and_factor(r2[jj], s, _S_LOG)
            acc += psi
            g[jj] = gj
    elif mode == _S_TWO:
        for jj in range(lo, hi):
            psi, gj = _pair_psi_and_factor(r2[jj], s, _S_TWO)
            acc += psi
            g[jj] = gj
    elif mode == _S_MINUS_ONE:
        for jj in range(lo, hi):
            psi, gj = _pair_psi_and_factor(r2[jj], s, _S_MINUS_ONE)
            acc += psi
            g[jj] = gj
    else:
        for jj in range(lo, hi):
            psi, gj = _pair_psi_and_factor(r2[jj], s, _S_GENERAL)
            acc += psi
            g[jj] = gj
    return acc


@numba.njit(cache=True, inline="always", fastmath=_FASTMATH, error_model="numpy")
def _pair_block(r2, g, m, s, mode, may_coincide):
    """Sum of psi over a block of m squared distances; g[jj] = r**-(s+2), set to 0 for
    coincident pairs (no force between them)."""
    acc = _pair_range(r2, g, 0, m, s, mode)
    if may_coincide:  # only without softening can a distance be exactly 0
        for jj in range(m):
            if r2[jj] == 0.0:
                g[jj] = 0.0
    return acc


@numba.njit(cache=True, inline="always", error_model="numpy")
def _confinement(r2: float, alpha: float, mode: int) -> tuple[float, float]:
    """V(|z|) and h = |z|**(alpha-2), so that -dV/dz = -h z (0 at z = 0)."""
    if mode == _ALPHA_TWO:
        return 0.5 * r2, 1.0
    if r2 == 0.0:
        return 0.0, 0.0
    ra = math.exp(0.5 * alpha * math.log(r2))  # |z|**alpha
    return ra / alpha, ra / r2


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _upper_row(ZT, i, s, s_mode, eps2, with_forces, F, zi, fi, r2, g):
    """Pairs (i, j > i): returns their psi sum; with forces adds the unweighted pair forces
    g (z_i - z_j) to F[:, i] and subtracts them from F[:, j] (Newton's third law).

    Partners are taken in blocks of _BLOCK, coordinate by coordinate along contiguous rows
    of ZT (d, N), so every loop over j is unit-stride and compiles to SIMD code.
    """
    d, n = ZT.shape
    for k in range(d):
        zi[k] = ZT[k, i]
        fi[k] = 0.0
    acc = 0.0
    for j0 in range(i + 1, n, _BLOCK):
        m = min(_BLOCK, n - j0)
        for jj in range(m):
            r2[jj] = eps2
        for k in range(d):
            zik = zi[k]
            row = ZT[k, j0:j0 + m]  # a slice view: unit stride, no wraparound checks
            for jj in range(m):
                diff = zik - row[jj]
                r2[jj] += diff * diff
        acc += _pair_block(r2, g, m, s, s_mode, eps2 == 0.0)
        if with_forces:
            for k in range(d):
                zik = zi[k]
                row = ZT[k, j0:j0 + m]
                f_row = F[k, j0:j0 + m]
                a = 0.0
                for jj in range(m):
                    pull = g[jj] * (zik - row[jj])
                    a += pull
                    f_row[jj] -= pull
                fi[k] += a
    if with_forces:
        for k in range(d):
            F[k, i] += fi[k]
    return acc


@numba.njit(parallel=True, cache=True, fastmath=_FASTMATH, error_model="numpy")
def _er_kernel(ZT, s, alpha, repulsion, eps2, s_mode, a_mode, forces, with_forces, n_chunks):
    """Energy, and forces into ``forces`` (N, d) float64 when with_forces.

    ZT (d, N) is the float64 transpose of the points. Each pair is evaluated once. The
    rows i < j are dealt out in pairs (t, N-1-t), which have N-1 partners together, to
    n_chunks chunks run in parallel; each chunk owns a (d, N) force buffer, summed at the
    end, so there are no write conflicts and the result is deterministic for a given
    n_chunks. Memory: O(n_chunks N d).
    """
    d, n = ZT.shape
    pair_weight = repulsion / (n * (n - 1.0))
    width = n if with_forces else 0
    buffers = np.zeros((n_chunks, d, width))
    chunk_psi = np.zeros(n_chunks)
    half = (n + 1) // 2
    for c in numba.prange(n_chunks):
        zi = np.empty(d)
        fi = np.empty(d)
        r2 = np.empty(_BLOCK)
        g = np.empty(_BLOCK)
        F = buffers[c]
        acc = 0.0
        for t in range(c, half, n_chunks):
            acc += _upper_row(ZT, t, s, s_mode, eps2, with_forces, F, zi, fi, r2, g)
            if n - 1 - t != t:
                acc += _upper_row(ZT, n - 1 - t, s, s_mode, eps2, with_forces, F, zi, fi, r2, g)
        chunk_psi[c] = acc
    conf = np.empty(n)
    for i in numba.prange(n):
        norm2 = 0.0
        for k in range(d):
            norm2 += ZT[k, i] * ZT[k, i]
        v, h = _confinement(norm2, alpha, a_mode)
        conf[i] = v
        if with_forces:
            for k in range(d):
                total = 0.0
                for c in range(n_chunks):
                    total += buffers[c, k, i]
                forces[i, k] = pair_weight * total - h * ZT[k, i] / n
    return conf.sum() / n + pair_weight * chunk_psi.sum()


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


def _evaluate(Z: np.ndarray, params: EnergyParams | None, with_forces: bool
              ) -> tuple[float, np.ndarray]:
    params = EnergyParams() if params is None else params
    Z = as_points(Z)
    ZT = np.ascontiguousarray(Z.T, dtype=np.float64)
    forces = np.empty(Z.shape if with_forces else (0, 0), dtype=np.float64)
    e = _er_kernel(ZT, params.s, params.alpha, params.repulsion, params.softening ** 2,
                   _s_mode(params.s), _alpha_mode(params.alpha), forces, with_forces,
                   numba.get_num_threads())
    return float(e), forces


def energy(Z: np.ndarray, params: EnergyParams | None = None) -> float:
    """The ER energy E(Z) of points Z (N, d), as a Python float (float64 accumulation)."""
    return _evaluate(Z, params, False)[0]


def energy_and_forces(Z: np.ndarray, params: EnergyParams | None = None
                      ) -> tuple[float, np.ndarray]:
    """E(Z) and forces -dE/dZ, shape (N, d) in Z's dtype (computed in float64)."""
    e, forces = _evaluate(Z, params, True)
    single = np.asarray(Z).dtype == np.float32
    return e, forces.astype(np.float32) if single else forces


def per_point_forces(forces: np.ndarray) -> np.ndarray:
    """Per-point forces f_i = -N dE/dz_i from ``energy_and_forces`` output (N-independent scale)."""
    return forces * forces.shape[0]


def largest_row_norm(vectors: np.ndarray) -> float:
    """max_i |v_i| over the rows of an (N, d) array (forces, displacements)."""
    v = np.asarray(vectors, dtype=np.float64)
    return float(np.sqrt(np.einsum("ij,ij->i", v, v).max()))


def max_point_force(forces: np.ndarray) -> float:
    """max_i |f_i| with f_i = -N dE/dz_i, from ``energy_and_forces`` output: the convergence
    criterion of every minimizer."""
    return largest_row_norm(forces) * np.shape(forces)[0]
