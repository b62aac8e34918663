"""The ER energy as a PyTorch regularizer: the batch of latent codes is the point cloud.

``EccentricRegularizer(params)(z)`` for z of shape (B, d) returns exactly the energy of
``particles.energy`` (same normalization, same EnergyParams), so ``-autograd grad`` equals the
engine's forces. Memory is O(B^2) (a B x B matrix of squared distances from the Gram
matrix), never O(B^2 d). The pair term has an analytic backward pass (first-order only:
double backward, e.g. for gradient penalties, raises).

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


def _psi_sum_and_slope(r2: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """sum of psi_s over squared distances r2, and the slope dpsi/dr^2 = -r^-(s+2)/2
    elementwise. Special s avoid log/exp; the general case uses expm1, exact as s -> 0.
    In-place where possible: each pass over a B x B matrix costs ~10 ms at B = 4096."""
    if s == 1.0:
        p = torch.rsqrt(r2)
        total = p.sum() - p.numel()
        return total, (p * p).mul_(p).mul_(-0.5)
    if s == 2.0:
        p = torch.reciprocal(r2)
        total = 0.5 * (p.sum() - p.numel())
        return total, p.square_().mul_(-0.5)
    if s == 0.0:
        return -0.5 * torch.log(r2).sum(), torch.reciprocal(r2).mul_(-0.5)
    em1 = torch.log(r2).mul_(-0.5 * s).expm1_()  # r^-s - 1
    total = em1.sum() / s
    return total, em1.add_(1.0).div_(r2).mul_(-0.5)


class _PairSum(torch.autograd.Function):
    """sum_{i != j} psi(r_ij^2) over a batch z (B, d), with the safe extension below
    ``floor`` = min_distance^2, and its analytic gradient 4 (rowsum(W) z - W z) with
    W_ij = dpsi/dr^2 (B x B). One B x B matrix is kept for the backward pass instead of
    autograd's chain of elementwise intermediates (see ``eccentric bench``)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, s: float, eps2: float, floor: float) -> torch.Tensor:
        # r2 = |z_i|^2 + |z_j|^2 - 2 z_i.z_j (Gram matrix: O(B^2) memory, not O(B^2 d)). The
        # Gram form cancels |z|^2-sized terms, so it is evaluated in float64 (then rounded to
        # z's dtype) on codes centred on their mean, which leaves every pair term unchanged
        z = z - z.mean(dim=0, keepdim=True)
        wide = z.double()
        norm2 = (wide * wide).sum(dim=1)
        r2 = torch.addmm(norm2[:, None] + norm2[None, :], wide, wide.T, beta=1.0, alpha=-2.0)
        r2 = r2.clamp_(min=0.0).add_(eps2).to(z.dtype)
        r2.fill_diagonal_(1.0)  # self pairs: psi(1) = 0; their slope is zeroed below
        below = (r2 < floor) if floor > 0.0 else None
        if below is not None and bool(below.any()):
            # tangent line below the floor: psi(floor) + slope(floor) (r2 - floor)
            total, slope = _psi_sum_and_slope(r2.clamp_min(floor), s)
            total = total + (slope[below] * (r2[below] - floor)).sum()
        else:
            total, slope = _psi_sum_and_slope(r2, s)
            if floor == 0.0:  # raw energy: a coincident pair has psi(0) and no force
                slope.masked_fill_(r2 == 0.0, 0.0)
        slope.fill_diagonal_(0.0)
        ctx.save_for_backward(z, slope)
        return total

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output: torch.Tensor):
        z, slope = ctx.saved_tensors
        grad = 4.0 * (slope.sum(dim=1, keepdim=True) * z - slope @ z)
        return grad_output * grad, None, None, None


def er_energy(z: torch.Tensor, params: EnergyParams, min_distance: float = 1e-3) -> torch.Tensor:
    """ER energy of a batch z (B, d), B >= 2, differentiable (first order); see the module
    docstring."""
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
    pairs = _PairSum.apply(z, params.s, params.softening ** 2, float(min_distance) ** 2)
    pair_weight = params.repulsion / (b * (b - 1.0))
    return confinement.mean() + 0.5 * pair_weight * pairs


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
