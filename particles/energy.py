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
run in parallel and keep O(threads N d) memory (never an N x N array).

Precision: float64 input is computed in float64 throughout. float32 input takes the
fast path: coordinate differences, squared distances and pair forces in float32 (twice
the SIMD width), every sum over partners and over points (energy, forces) in float64;
results agree with the float64 evaluation of the same points to float32 round-off
(relative ~1e-6).

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


_LOG_GROUP = 16  # squared distances multiplied together before one log (s = 0)
_LOG_SAFE = 1e16  # 16 factors within [1/_LOG_SAFE, _LOG_SAFE] cannot overflow a float64 product


@numba.njit(cache=True, inline="always", fastmath=_FASTMATH, error_model="numpy")
def _log_range(r2, g, lo, hi):
    """s = 0: sum of psi_0 = -log(r2)/2 over r2[lo:hi], and g[jj] = 1/r2. A log does not
    vectorize (no SVML), so where every r2 of the range lies within [1e-16, 1e16] the logs
    are taken of float64 products of 16 squared distances: 16x fewer logs, and a product
    of 16 factors rounds no worse than a sum of 16 logs. Otherwise (near-coincident or
    far-apart points, r2 = 0) one log per pair."""
    smallest = np.inf
    largest = 0.0
    for jj in range(lo, hi):
        x = r2[jj]
        g[jj] = 1.0 / x
        smallest = min(smallest, x)
        largest = max(largest, x)
    log_sum = 0.0
    jj = lo
    if smallest >= 1.0 / _LOG_SAFE and largest <= _LOG_SAFE:
        while jj + _LOG_GROUP <= hi:
            product = 1.0
            for t in range(jj, jj + _LOG_GROUP):
                product *= np.float64(r2[t])
            log_sum += math.log(product)
            jj += _LOG_GROUP
    for t in range(jj, hi):
        log_sum += math.log(np.float64(r2[t]))
    return -0.5 * log_sum


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
        acc = _log_range(r2, g, lo, hi)
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


_ROWS = 4  # rows of i evaluated together against one block of partners (register blocking)


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _pairs_among(ZT, lo, hi, s, s_mode, eps2, with_forces, fr, row0):
    """Pairs i < j with lo <= i, j < hi, one at a time: the few pairs inside a row group and
    among the last N mod 4 rows. Forces go to fr[i - row0] (float64 (rows, d))."""
    d = ZT.shape[0]
    acc = 0.0
    for a in range(lo, hi):
        for b in range(a + 1, hi):
            q = eps2
            for k in range(d):
                t = np.float64(ZT[k, a]) - np.float64(ZT[k, b])
                q += t * t
            psi, g = _pair_psi_and_factor(q, s, s_mode)
            acc += psi
            if with_forces and q != 0.0:
                for k in range(d):
                    pull = g * (np.float64(ZT[k, a]) - np.float64(ZT[k, b]))
                    fr[a - row0, k] += pull
                    fr[b - row0, k] -= pull
    return acc


@numba.njit(cache=True, inline="always", fastmath=_FASTMATH, error_model="numpy")
def _group_block(ZT, j0, m, zr, fr, r2, g, s, s_mode, eps2, with_forces, F, zero):
    """Four rows (coordinates zr (4, d)) against the m partners j0..j0+m-1: returns their psi
    sum; with forces adds the unweighted pair forces g (z_i - z_j) to fr (4, d) and
    subtracts them from F[:, j] (Newton's third law).

    Partners are taken coordinate by coordinate along contiguous rows of ZT (d, N), so every
    loop over j is unit stride and compiles to SIMD code; each partner coordinate and each
    F[k, j] is loaded once for four rows, and coordinates go two at a time, so each r2 and
    g is loaded and stored once per two. zr, r2, g are in ZT's dtype (float32 input computes
    distances and pair forces in float32, twice the SIMD width); fr, F and all sums over
    partners of a row are float64.
    """
    d = ZT.shape[0]
    r2_0, r2_1, r2_2, r2_3 = r2[0], r2[1], r2[2], r2[3]
    g_0, g_1, g_2, g_3 = g[0], g[1], g[2], g[3]
    may_coincide = eps2 == 0.0
    for jj in range(m):
        r2_0[jj] = eps2
        r2_1[jj] = eps2
        r2_2[jj] = eps2
        r2_3[jj] = eps2
    # coordinates two at a time: each r2 and each g is loaded and stored half as often
    for k in range(0, d - 1, 2):
        z0, z1, z2, z3 = zr[0, k], zr[1, k], zr[2, k], zr[3, k]
        y0, y1, y2, y3 = zr[0, k + 1], zr[1, k + 1], zr[2, k + 1], zr[3, k + 1]
        row = ZT[k, j0:j0 + m]  # slice views: unit stride, no wraparound checks
        row_next = ZT[k + 1, j0:j0 + m]
        for jj in range(m):
            x, w = row[jj], row_next[jj]
            t0, t1, t2, t3 = z0 - x, z1 - x, z2 - x, z3 - x
            u0, u1, u2, u3 = y0 - w, y1 - w, y2 - w, y3 - w
            r2_0[jj] += t0 * t0 + u0 * u0
            r2_1[jj] += t1 * t1 + u1 * u1
            r2_2[jj] += t2 * t2 + u2 * u2
            r2_3[jj] += t3 * t3 + u3 * u3
    if d % 2:
        k = d - 1
        z0, z1, z2, z3 = zr[0, k], zr[1, k], zr[2, k], zr[3, k]
        row = ZT[k, j0:j0 + m]
        for jj in range(m):
            x = row[jj]
            t0, t1, t2, t3 = z0 - x, z1 - x, z2 - x, z3 - x
            r2_0[jj] += t0 * t0
            r2_1[jj] += t1 * t1
            r2_2[jj] += t2 * t2
            r2_3[jj] += t3 * t3
    acc = _pair_block(r2_0, g_0, m, s, s_mode, may_coincide)
    acc += _pair_block(r2_1, g_1, m, s, s_mode, may_coincide)
    acc += _pair_block(r2_2, g_2, m, s, s_mode, may_coincide)
    acc += _pair_block(r2_3, g_3, m, s, s_mode, may_coincide)
    if with_forces:
        for k in range(0, d - 1, 2):
            z0, z1, z2, z3 = zr[0, k], zr[1, k], zr[2, k], zr[3, k]
            y0, y1, y2, y3 = zr[0, k + 1], zr[1, k + 1], zr[2, k + 1], zr[3, k + 1]
            row = ZT[k, j0:j0 + m]
            row_next = ZT[k + 1, j0:j0 + m]
            f_row = F[k, j0:j0 + m]
            f_next = F[k + 1, j0:j0 + m]
            a0, a1, a2, a3 = zero, zero, zero, zero
            b0, b1, b2, b3 = zero, zero, zero, zero
            for jj in range(m):
                x, w = row[jj], row_next[jj]
                c0, c1, c2, c3 = g_0[jj], g_1[jj], g_2[jj], g_3[jj]
                p0, p1, p2, p3 = c0 * (z0 - x), c1 * (z1 - x), c2 * (z2 - x), c3 * (z3 - x)
                q0, q1, q2, q3 = c0 * (y0 - w), c1 * (y1 - w), c2 * (y2 - w), c3 * (y3 - w)
                a0 += p0
                a1 += p1
                a2 += p2
                a3 += p3
                b0 += q0
                b1 += q1
                b2 += q2
                b3 += q3
                f_row[jj] -= (p0 + p1) + (p2 + p3)
                f_next[jj] -= (q0 + q1) + (q2 + q3)
            fr[0, k] += a0
            fr[1, k] += a1
            fr[2, k] += a2
            fr[3, k] += a3
            fr[0, k + 1] += b0
            fr[1, k + 1] += b1
            fr[2, k + 1] += b2
            fr[3, k + 1] += b3
        if d % 2:
            k = d - 1
            z0, z1, z2, z3 = zr[0, k], zr[1, k], zr[2, k], zr[3, k]
            row = ZT[k, j0:j0 + m]
            f_row = F[k, j0:j0 + m]
            a0, a1, a2, a3 = zero, zero, zero, zero
            for jj in range(m):
                x = row[jj]
                p0 = g_0[jj] * (z0 - x)
                p1 = g_1[jj] * (z1 - x)
                p2 = g_2[jj] * (z2 - x)
                p3 = g_3[jj] * (z3 - x)
                a0 += p0
                a1 += p1
                a2 += p2
                a3 += p3
                f_row[jj] -= (p0 + p1) + (p2 + p3)
            fr[0, k] += a0
            fr[1, k] += a1
            fr[2, k] += a2
            fr[3, k] += a3
    return acc


_TILE_GROUPS = 16  # row groups sharing each partner block while it is in cache


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _row_tile(ZT, i0, n_groups, s, s_mode, eps2, with_forces, F, zr, fr, r2, g, zero):
    """Rows i0 .. i0 + 4 n_groups - 1 (n_groups groups of four) against every partner
    j > i: returns their psi sum and adds their forces to F (see _group_block).

    Cache tiling: the partner blocks (_BLOCK points: ZT[:, block] and F[:, block], 2 x 32 KB
    at d = 16) are visited once per tile and reused by all its groups from L1/L2, instead
    of once per group from L3 or memory (at N = 65536 the points and a force buffer no
    longer fit in cache). zr, fr: (n_groups_max, 4, d) scratch.
    """
    d, n = ZT.shape
    for t in range(n_groups):
        for r in range(_ROWS):
            for k in range(d):
                zr[t, r, k] = ZT[k, i0 + _ROWS * t + r]
                fr[t, r, k] = 0.0
    acc = 0.0
    for j0 in range(i0 + _ROWS, n, _BLOCK):
        j1 = min(j0 + _BLOCK, n)
        for t in range(n_groups):
            start = max(j0, i0 + _ROWS * (t + 1))  # partners j >= i + 4 of this group
            if start < j1:
                acc += _group_block(ZT, start, j1 - start, zr[t], fr[t], r2, g, s, s_mode,
                                    eps2, with_forces, F, zero)
    for t in range(n_groups):
        i = i0 + _ROWS * t
        acc += _pairs_among(ZT, i, i + _ROWS, s, s_mode, eps2, with_forces, fr[t], i)
        if with_forces:
            for r in range(_ROWS):
                for k in range(d):
                    F[k, i + r] += fr[t, r, k]
    return acc


@numba.njit(parallel=True, cache=True, fastmath=_FASTMATH, error_model="numpy")
def _er_kernel(ZT, s, alpha, repulsion, eps2, s_mode, a_mode, forces, with_forces, n_chunks, zero):
    """Energy, and forces into ``forces`` (N, d) float64 when with_forces.

    ZT (d, N) is the transpose of the points (float64, or float32 for the float32 path;
    ``zero`` is a 0 of that dtype). Each pair is evaluated once. Rows are taken in groups of
    four (_group_block), groups in tiles (_row_tile); the tiles are dealt out in pairs
    (t, T-1-t), which have about the same number of partners together, to n_chunks chunks
    run in parallel; each chunk owns a float64 (d, N) force buffer, summed at the end, so
    there are no write conflicts and the result is deterministic for a given n_chunks.
    Memory: O(n_chunks N d).
    """
    d, n = ZT.shape
    pair_weight = repulsion / (n * (n - 1.0))
    width = n if with_forces else 0
    buffers = np.zeros((n_chunks, d, width))
    chunk_psi = np.zeros(n_chunks)
    groups = n // _ROWS
    # tiles of tile_groups row groups, at least ~4 tiles per chunk so the pairing balances
    tile_groups = max(1, min(_TILE_GROUPS, groups // (4 * n_chunks)))
    tiles = (groups + tile_groups - 1) // tile_groups
    half = (tiles + 1) // 2
    for c in numba.prange(n_chunks):
        zr = np.empty((tile_groups, _ROWS, d), dtype=ZT.dtype)
        fr = np.zeros((tile_groups, _ROWS, d))
        r2 = np.empty((_ROWS, _BLOCK), dtype=ZT.dtype)
        g = np.empty((_ROWS, _BLOCK), dtype=ZT.dtype)
        F = buffers[c]
        acc = 0.0
        for t in range(c, half, n_chunks):
            acc += _row_tile(ZT, _ROWS * tile_groups * t, min(tile_groups, groups - tile_groups * t),
                             s, s_mode, eps2, with_forces, F, zr, fr, r2, g, zero)
            u = tiles - 1 - t
            if u != t:
                acc += _row_tile(ZT, _ROWS * tile_groups * u, min(tile_groups, groups - tile_groups * u),
                                 s, s_mode, eps2, with_forces, F, zr, fr, r2, g, zero)
        if c == 0 and groups * _ROWS < n:  # the last N mod 4 rows, among themselves
            lo = groups * _ROWS
            rest = fr[0]
            rest[:, :] = 0.0
            acc += _pairs_among(ZT, lo, n, s, s_mode, eps2, with_forces, rest, lo)
            if with_forces:
                for r in range(n - lo):
                    for k in range(d):
                        F[k, lo + r] += rest[r, k]
        chunk_psi[c] = acc
    conf = np.empty(n)
    for i in numba.prange(n):
        norm2 = 0.0
        for k in range(d):
            zk = np.float64(ZT[k, i])
            norm2 += zk * zk
        v, h = _confinement(norm2, alpha, a_mode)
        conf[i] = v
        if with_forces:
            for k in range(d):
                total = 0.0
                for c in range(n_chunks):
                    total += buffers[c, k, i]
                forces[i, k] = pair_weight * total - h * np.float64(ZT[k, i]) / n
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
    ZT = np.ascontiguousarray(Z.T)  # float32 stays float32: the fast path
    forces = np.empty(Z.shape if with_forces else (0, 0), dtype=np.float64)
    e = _er_kernel(ZT, params.s, params.alpha, params.repulsion, params.softening ** 2,
                   _s_mode(params.s), _alpha_mode(params.alpha), forces, with_forces,
                   numba.get_num_threads(), ZT.dtype.type(0))
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
