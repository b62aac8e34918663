"""The ER energy as a PyTorch regularizer: the batch of latent codes is the point cloud.

``EccentricRegularizer(params)(z)`` for z of shape (B, d) returns exactly the energy of
``particles.energy`` (same normalization, same EnergyParams), so ``-autograd grad`` equals the
engine's forces. Memory is O(B^2) (a B x B matrix of squared distances from the Gram
matrix), never O(B^2 d).

Safe formulation. At initialization latent codes can coincide, where psi_s is +inf for
s >= 0 and its gradient undefined. With ``min_distance = delta > 0`` (default 1e-3) every
pair with softened squared distance r^2 < delta^2 is evaluated on the tangent line of psi_s
in r^2 at delta^2::

    psi(r^2) = psi(delta^2) + psi'(delta^2) (r^2 - delta^2)         (r < delta)

which is finite, C^1 and pushes close pairs apart with a bounded force (zero only for
exactly equal codes, by symmetry). Pairs at distance >= delta are exact, so the energy equals
the engine's whenever no two codes are closer than delta. ``min_distance = 0`` gives the raw
energy everywhere (inf for duplicates at s >= 0). The softening eps of EnergyParams is applied
first, as in the engine.
"""

from __future__ import annotations

import torch
from torch import nn

from particles import EnergyParams

__all__ = ["EccentricRegularizer", "er_energy"]


def _psi(r2: torch.Tensor, s: float) -> torch.Tensor:
    """psi_s as a function of the squared distance; expm1 keeps it exact as s -> 0."""
    log_inv_r = -0.5 * torch.log(r2)
    if s == 0.0:
        return log_inv_r
    return torch.expm1(s * log_inv_r) / s


def er_energy(z: torch.Tensor, params: EnergyParams, min_distance: float = 1e-3) -> torch.Tensor:
    """ER energy of a batch z (B, d), B >= 2, differentiable; see the module docstring."""
    if z.ndim != 2:
        raise ValueError(f"latent batch must have shape (B, d), got {tuple(z.shape)}")
    b = z.shape[0]
    if b < 2:
        raise ValueError(f"the ER energy needs a batch of at least 2 codes, got B = {b}")
    norm2 = (z * z).sum(dim=1)
    if params.alpha == 2.0:
        confinement = 0.5 * norm2
    else:  # |z|^alpha / alpha, with a zero gradient (not NaN) at z = 0
        positive = norm2 > 0
        safe = torch.where(positive, norm2, torch.ones_like(norm2))
        confinement = torch.where(positive, safe ** (0.5 * params.alpha) / params.alpha,
                                  torch.zeros_like(norm2))
    gram = z @ z.T
    r2 = (norm2[:, None] + norm2[None, :] - 2.0 * gram).clamp_min(0.0) + params.softening ** 2
    off_diagonal = ~torch.eye(b, dtype=torch.bool, device=z.device)
    floor = float(min_distance) ** 2
    if floor > 0.0:
        # psi(max(r2, floor)) + psi'(floor) min(r2 - floor, 0): exact above the floor, the
        # tangent line below it; two elementwise passes over the B x B matrix
        slope = -0.5 * floor ** (-(0.5 * params.s + 1.0))
        psi = _psi(r2.clamp_min(floor), params.s) + slope * (r2 - floor).clamp_max(0.0)
    else:
        psi = _psi(torch.where(off_diagonal, r2, torch.ones_like(r2)), params.s)
    psi = torch.where(off_diagonal, psi, torch.zeros_like(psi))
    pair_weight = params.repulsion / (b * (b - 1.0))
    return confinement.mean() + 0.5 * pair_weight * psi.sum()


class EccentricRegularizer(nn.Module):
    """nn.Module form of ``er_energy``: ``EccentricRegularizer(EnergyParams(...))(z)``.

    min_distance: the distance below which pairs use the safe tangent extension (default
    1e-3; 0 for the raw energy).
    """

    def __init__(self, params: EnergyParams | None = None, min_distance: float = 1e-3) -> None:
        super().__init__()
        if not (min_distance >= 0.0):
            raise ValueError(f"min_distance must be >= 0, got {min_distance}")
        self.params = EnergyParams() if params is None else params
        self.min_distance = float(min_distance)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return er_energy(z, self.params, self.min_distance)

    def extra_repr(self) -> str:
        p = self.params
        return (f"s={p.s}, alpha={p.alpha}, repulsion={p.repulsion}, "
                f"softening={p.softening}, min_distance={self.min_distance}")
