"""Closed-form equilibrium theory of the ER energy with quadratic confinement (alpha = 2).

The continuum energy of a probability measure mu on R^d is
``I[mu] = int V dmu + (lambda / 2) int int psi_s dmu dmu`` with ``V(r) = r**2 / 2`` and
``psi_s`` as in ``particles.energy``. Its minimizer (the equilibrium measure) is:

* uniform on the sphere of radius R*, ``R***(s+2) = lambda c(s, d) / 2`` (``R*^2 = lambda/2``
  at s = 0), for -2 < s <= d - 4;
* uniform on the ball of radius ``lambda**(1/d)`` in the Coulomb case s = d - 2 (the log
  kernel s = 0 in d = 2, minus the distance s = -1 in d = 1);
* supported on a ball with a non-uniform density for d - 4 < s < d - 2 (no closed form here).

References: Chafai, Saff, Womersley, J. Math. Anal. Appl. (2022) and Anal. Math. Phys. (2023);
Dragnev, Orive, Saff, Wielonsky, Constr. Approx. (2023).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scipy.special import digamma, gammaln

__all__ = ["Prediction", "sphere_constant", "sphere_radius", "sphere_energy",
           "coulomb_ball_radius", "coulomb_ball_energy", "support_kind", "predict"]


def _check(dim: int, s: float) -> None:
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim}")
    if not s > -2:
        raise ValueError(f"s must be > -2, got {s}")


def sphere_constant(s: float, dim: int) -> float:
    """c(s, d) = E|u - v|**(-s) for u, v independent and uniform on the unit sphere S^(d-1).

    c = 2**(d-2-s) Gamma(d/2) Gamma((d-1-s)/2) / (sqrt(pi) Gamma(d-1-s/2)); finite for
    s < d - 1 (d >= 2).
    """
    _check(dim, s)
    if dim < 2 or s >= dim - 1:
        raise ValueError(f"c(s, d) diverges for s >= d - 1 (s = {s}, d = {dim})")
    d = float(dim)
    log_c = ((d - 2 - s) * math.log(2.0) + gammaln(d / 2) + gammaln((d - 1 - s) / 2)
             - 0.5 * math.log(math.pi) - gammaln(d - 1 - s / 2))
    return math.exp(log_c)


def _sphere_mean_log_inverse_distance(dim: int) -> float:
    """E[-log|u - v|] on S^(d-1) = dc/ds at s = 0."""
    d = float(dim)
    return float(-math.log(2.0) - 0.5 * digamma((d - 1) / 2) + 0.5 * digamma(d - 1))


def sphere_radius(dim: int, s: float, repulsion: float = 1.0) -> float:
    """R* of the uniform sphere equilibrium: R***(s+2) = lambda c(s, d)/2, or R*^2 = lambda/2 at s = 0."""
    _check(dim, s)
    if s == 0:
        return math.sqrt(repulsion / 2.0)
    return (repulsion * sphere_constant(s, dim) / 2.0) ** (1.0 / (s + 2.0))


def sphere_energy(dim: int, s: float, repulsion: float = 1.0) -> float:
    """I* = R*^2/2 + (lambda/2) E psi_s(R* |u - v|), the continuum energy at the sphere equilibrium."""
    r = sphere_radius(dim, s, repulsion)
    if s == 0:
        pair = -math.log(r) + _sphere_mean_log_inverse_distance(dim)
    else:
        pair = (sphere_constant(s, dim) * r ** (-s) - 1.0) / s
    return 0.5 * r * r + 0.5 * repulsion * pair


def coulomb_ball_radius(dim: int, repulsion: float = 1.0) -> float:
    """Radius lambda**(1/d) of the uniform-ball equilibrium for s = d - 2 (log kernel in d = 2)."""
    return repulsion ** (1.0 / dim)


def coulomb_ball_energy(dim: int, repulsion: float = 1.0) -> float:
    """Continuum energy of the uniform ball of radius R = lambda**(1/d), s = d - 2.

    Uses E|x|^2 = d R^2/(d+2) and the mean Coulomb potential of the uniform ball,
    E|x - y|**(2-d) = 2 d R**(2-d) / (d + 2); in d = 2, E[-log|x - y|] = 1/4 - log R.
    """
    d = float(dim)
    r = coulomb_ball_radius(dim, repulsion)
    confinement = d * r * r / (2.0 * (d + 2.0))
    if dim == 2:
        pair = 0.25 - math.log(r)
    else:
        s = d - 2.0
        pair = (2.0 * d * r ** (-s) / (d + 2.0) - 1.0) / s
    return confinement + 0.5 * repulsion * pair


def support_kind(dim: int, s: float, alpha: float = 2.0) -> str:
    """'sphere', 'ball' or 'unknown' for the equilibrium support (theory needs alpha = 2)."""
    _check(dim, s)
    if alpha != 2.0:
        return "unknown"
    if s <= dim - 4:
        return "sphere"
    if dim - 4 < s <= dim - 2:
        return "ball"
    return "unknown"


@dataclass(frozen=True)
class Prediction:
    """Predicted equilibrium: support kind, its radius and the continuum energy I* (None
    where no closed form applies), and a short statement of which result was used."""

    support: str
    radius: float | None
    energy: float | None
    case: str

    def as_dict(self) -> dict:
        return asdict(self)


def predict(dim: int, s: float, repulsion: float = 1.0, alpha: float = 2.0) -> Prediction:
    """The equilibrium prediction for dimension d and energy parameters (s, alpha, lambda)."""
    _check(dim, s)
    if not repulsion > 0:
        raise ValueError(f"repulsion must be > 0, got {repulsion}")
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    kind = support_kind(dim, s, alpha)
    if kind == "sphere":
        return Prediction("sphere", sphere_radius(dim, s, repulsion),
                          sphere_energy(dim, s, repulsion),
                          "uniform on the sphere R*^(s+2) = lambda c(s,d)/2 (-2 < s <= d-4)")
    if kind == "ball" and s == dim - 2:
        return Prediction("ball", coulomb_ball_radius(dim, repulsion),
                          coulomb_ball_energy(dim, repulsion),
                          "uniform ball of radius lambda^(1/d) (Coulomb s = d-2)")
    if kind == "ball":
        return Prediction("ball", None, None,
                          "ball with non-uniform density (d-4 < s < d-2): no closed form here")
    if alpha != 2.0:
        return Prediction("unknown", None, None, "no closed form for alpha != 2")
    return Prediction("unknown", None, None, "s > d-2: no closed form here")
