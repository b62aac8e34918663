"""The ER energy and forces written the way a user of each peer library would write it.

Every peer computes exactly ``particles.energy``'s E(Z) and -dE/dZ (same normalization) so
that the benchmark compares equal work; ``tests/eccentric/test_peers.py`` checks each one
against the engine. ``prepare(impl, Z, params)`` returns a callable that evaluates energy
and forces once (forces as a NumPy array), or raises ``PeerUnavailable`` with the reason
(library missing, fails to compile, needs too much memory).

Peers:
  numba      the engine (particles.energy_and_forces); threads set by the caller
  numpy      naive N x N x d broadcasting (particles.reference), float64
  torch      blocked rows: torch.cdist per block of rows, autograd per block (O(block N) memory)
  torch-er   autoencoder.EccentricRegularizer (Gram matrix, O(N^2) memory), autograd
  keops      pykeops LazyTensor reduction with autograd (no N x N array)
  jax        jax.jit(jax.value_and_grad) of a lax.map over row blocks, checkpointed
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from particles import EnergyParams, energy_and_forces

__all__ = ["IMPLS", "PeerUnavailable", "prepare", "peak_bytes"]

IMPLS = ("numba", "numpy", "torch", "torch-er", "keops", "jax")
ROW_BLOCK = 1024  # rows per block of the blocked torch and JAX peers


class PeerUnavailable(Exception):
    """A peer that cannot run here; the message says why (shown in the benchmark table)."""


Evaluate = Callable[[], tuple[float, np.ndarray]]


def peak_bytes(impl: str, n: int, d: int, itemsize: int) -> int:
    """Rough peak working memory of one evaluation, to skip peers that cannot fit."""
    if impl == "numpy":
        return 3 * n * n * d * 8  # diff (N, N, d), its square and the einsum operand
    if impl == "torch-er":
        return 8 * n * n * itemsize  # Gram, r2, psi, masks and their gradients (B x B)
    if impl in ("torch", "jax"):
        return 4 * min(n, ROW_BLOCK) * n * d * itemsize
    return 4 * n * d * 8


def _numba(Z: np.ndarray, params: EnergyParams) -> Evaluate:
    return lambda: energy_and_forces(Z, params)


def _numpy(Z: np.ndarray, params: EnergyParams) -> Evaluate:
    from particles.reference import reference_energy_and_forces

    if Z.dtype != np.float64:
        raise PeerUnavailable("float64 only (the reference transcription)")
    return lambda: reference_energy_and_forces(Z, params)


def _torch_psi(torch, r2, s: float):
    """psi_s of squared distances (torch), expm1 form exact as s -> 0; 1/sqrt for s = 1."""
    if s == 1.0:
        return torch.rsqrt(r2) - 1.0
    log_inv_r = -0.5 * torch.log(r2)
    if s == 0.0:
        return log_inv_r
    return torch.expm1(s * log_inv_r) / s


def _torch(Z: np.ndarray, params: EnergyParams) -> Evaluate:
    try:
        import torch
    except ImportError as exc:
        raise PeerUnavailable(f"torch not installed ({exc})") from None
    n = Z.shape[0]
    pair_weight = params.repulsion / (n * (n - 1.0))
    eps2 = params.softening ** 2

    def evaluate() -> tuple[float, np.ndarray]:
        z = torch.from_numpy(Z).requires_grad_(True)
        total = 0.0
        for lo in range(0, n, ROW_BLOCK):
            rows = z[lo:lo + ROW_BLOCK]
            r2 = torch.cdist(rows, z).square() + eps2
            idx = torch.arange(rows.shape[0])
            r2[idx, lo + idx] = 1.0  # self pairs: psi(1) = 0, no gradient
            part = 0.5 * pair_weight * _torch_psi(torch, r2, params.s).sum()
            norm = rows.norm(dim=1)
            part = part + (norm ** params.alpha).sum() / (params.alpha * n)
            part.backward()
            total += float(part.detach())
        return total, -z.grad.numpy()
    return evaluate


def _torch_er(Z: np.ndarray, params: EnergyParams) -> Evaluate:
    try:
        import torch

        from autoencoder.regularizer import er_energy
    except ImportError as exc:
        raise PeerUnavailable(f"torch not installed ({exc})") from None

    def evaluate() -> tuple[float, np.ndarray]:
        z = torch.from_numpy(Z).requires_grad_(True)
        e = er_energy(z, params, min_distance=0.0)
        e.backward()
        return float(e.detach()), -z.grad.numpy()
    return evaluate


def _keops(Z: np.ndarray, params: EnergyParams) -> Evaluate:
    try:
        import torch
        from pykeops.torch import LazyTensor
    except Exception as exc:  # ImportError, or KeOps failing to find a compiler
        raise PeerUnavailable(f"pykeops not importable ({type(exc).__name__}: {exc})") from None
    n = Z.shape[0]
    pair_weight = params.repulsion / (n * (n - 1.0))
    s, eps2 = params.s, params.softening ** 2

    def evaluate() -> tuple[float, np.ndarray]:
        z = torch.from_numpy(Z).requires_grad_(True)
        x_i, y_j = LazyTensor(z[:, None, :]), LazyTensor(z[None, :, :])
        r2 = ((x_i - y_j) ** 2).sum(-1) + eps2
        r2 = r2 + (-r2).step()  # self pairs (r2 = 0) become 1: psi(1) = 0
        if s == 1.0:
            psi = r2.rsqrt() - 1.0
        elif s == 0.0:
            psi = -0.5 * r2.log()
        else:
            psi = (r2 ** (-0.5 * s) - 1.0) / s
        pairs = psi.sum(dim=1).sum()
        norm = z.norm(dim=1)
        e = 0.5 * pair_weight * pairs + (norm ** params.alpha).sum() / (params.alpha * n)
        e.backward()
        return float(e.detach()), -z.grad.numpy()
    try:
        evaluate()  # compiles the formula (cached on disk by KeOps)
    except Exception as exc:
        raise PeerUnavailable(f"KeOps failed to compile or run ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return evaluate


def _jax(Z: np.ndarray, params: EnergyParams) -> Evaluate:
    try:
        import jax
    except ImportError as exc:
        raise PeerUnavailable(f"jax not installed ({exc})") from None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    n, d = Z.shape
    pair_weight = params.repulsion / (n * (n - 1.0))
    s, eps2, alpha = params.s, params.softening ** 2, params.alpha
    blocks = -(-n // ROW_BLOCK)
    pad = blocks * ROW_BLOCK - n

    def psi(r2):
        if s == 1.0:
            return jax.lax.rsqrt(r2) - 1.0
        log_inv_r = -0.5 * jnp.log(r2)
        return log_inv_r if s == 0.0 else jnp.expm1(s * log_inv_r) / s

    def energy(z):
        rows = jnp.pad(z, ((0, pad), (0, 0))).reshape(blocks, ROW_BLOCK, d)
        index = jnp.arange(blocks * ROW_BLOCK).reshape(blocks, ROW_BLOCK)

        @jax.checkpoint  # recompute each block in the backward pass: O(block N) memory
        def block(args):
            x, i = args
            r2 = ((x[:, None, :] - z[None, :, :]) ** 2).sum(-1) + eps2
            skip = (i[:, None] == jnp.arange(n)[None, :]) | (i[:, None] >= n)
            return jnp.where(skip, 0.0, psi(jnp.where(skip, 1.0, r2))).sum()

        pairs = jax.lax.map(block, (rows, index)).sum()
        norm = jnp.sqrt((z * z).sum(1))
        return 0.5 * pair_weight * pairs + (norm ** alpha).sum() / (alpha * n)

    value_and_grad = jax.jit(jax.value_and_grad(energy))
    z = jnp.asarray(Z)

    def evaluate() -> tuple[float, np.ndarray]:
        e, grad = value_and_grad(z)
        return float(e), -np.asarray(grad)
    return evaluate


_PREPARE = {"numba": _numba, "numpy": _numpy, "torch": _torch, "torch-er": _torch_er,
            "keops": _keops, "jax": _jax}


def prepare(impl: str, Z: np.ndarray, params: EnergyParams,
            memory_limit: float = float("inf")) -> Evaluate:
    """A callable evaluating (energy, forces) of Z with peer ``impl``; raises PeerUnavailable."""
    if impl not in _PREPARE:
        raise ValueError(f"unknown implementation {impl!r}; choose from {', '.join(IMPLS)}")
    need = peak_bytes(impl, *Z.shape, Z.dtype.itemsize)
    if need > memory_limit:
        raise PeerUnavailable(f"needs ~{need / 2**30:.1f} GiB (limit {memory_limit / 2**30:.1f} GiB)")
    return _PREPARE[impl](Z, params)
