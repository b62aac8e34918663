"""The relaxation driver: run a minimizer or Langevin dynamics on a point cloud, watch it,
stop on the per-point force criterion, and optionally write an H5MD trajectory."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from particles.energy import EnergyParams, as_points, energy_and_forces, largest_row_norm
from particles.minimize import (
    METHODS,
    FireParams,
    fire,
    gradient_descent,
    langevin,
    lbfgs,
)
from particles.random_batch import random_batch_energy_and_forces

__all__ = ["RelaxResult", "RelaxationError", "relax", "random_cloud", "length_scale",
           "DEFAULT_FMAX"]

DEFAULT_FMAX = 1e-5
"""Default per-point force threshold. Measured on d = 5, N = 400, s = 1: the energy at
max|f_i| < 1e-5 is within 2.5e-6 (FIRE) and 3.7e-6 (L-BFGS) relative of the same run
continued (FIRE for 20,000 steps, L-BFGS to 1e-7): about 1e-6, as the command line promises.
Below ~1e-8 only FIRE can go (line searches on energy differences stall there)."""


class RelaxationError(RuntimeError):
    """The relaxation cannot start or went numerically wrong (named cause in the message)."""


@dataclass
class RelaxResult:
    """Outcome of ``relax``: final points (N, d) float64, energy E, largest per-point force,
    steps taken, force evaluations (for "rbm" the random-batch estimates count too), whether
    max|f_i| < fmax was reached, why it stopped, and the per-step history (arrays ``step``,
    ``energy``, ``max_force``)."""

    positions: np.ndarray
    energy: float
    max_force: float
    steps: int
    n_evaluations: int
    converged: bool
    reason: str
    method: str
    params: EnergyParams
    fmax: float
    wall_time: float
    history: dict[str, np.ndarray] = field(default_factory=dict)
    out: str | None = None


def length_scale(params: EnergyParams) -> float:
    """Natural length of the energy: lambda**(1/(s+alpha)), where confinement and repulsion balance."""
    return params.repulsion ** (1.0 / (params.s + params.alpha))


def random_cloud(n: int, dim: int, params: EnergyParams | None = None, seed: int | None = 0,
                 dtype: type = np.float64) -> np.ndarray:
    """N Gaussian points in R^dim with RMS radius half the natural length scale."""
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n}")
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim}")
    params = EnergyParams() if params is None else params
    rng = np.random.default_rng(seed)
    sigma = 0.5 * length_scale(params) / np.sqrt(dim)
    return (sigma * rng.standard_normal((int(n), int(dim)))).astype(dtype)


def relax(Z: np.ndarray, params: EnergyParams | None = None, *, method: str = "lbfgs",
          fmax: float = DEFAULT_FMAX, steps: int = 100_000, temperature: float = 0.0,
          dt: float | None = None, seed: int | None = 0, fire_params: FireParams | None = None,
          every: int = 0, out: str | Path | None = None, overwrite: bool = False,
          metadata: Mapping[str, Any] | None = None,
          observers: tuple[Callable[[int, np.ndarray, float, np.ndarray], None], ...] = (),
          objective: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
          batch_size: int | None = None,
          ) -> RelaxResult:
    """Relax points Z (N, d) under the ER energy.

    method: "lbfgs" (default: 2-18x fewer force evaluations than FIRE to the default fmax,
    measured in README), "fire" (the one for fmax below ~1e-7, where line searches stall),
    "gd" (backtracking gradient descent), "langevin" (overdamped, at ``temperature``, time
    step ``dt``, default 0.01) or "rbm": the same Langevin dynamics driven by random-batch
    forces (``batch_size`` p: each step costs O(N p d) instead of O(N^2 d); Jin, Li, Liu
    2020), default dt 0.1, annealed as dt K / step after K = steps / 10 so that T = 0 runs
    settle. Stops when the largest per-point force max_i |N dE/dz_i| falls below ``fmax`` or
    after ``steps`` steps; the result says which. At temperature > 0 forces never vanish, so
    all ``steps`` are run; "rbm" also runs all steps (its forces are estimates) and reports
    the exact energy and force of the final state (one full evaluation, also the last
    trajectory frame). History, observers and earlier frames see the estimates.

    every: write a frame to the H5MD file ``out`` every ``every`` steps (0: first and last
    only); the first and last states are always written when ``out`` is given. metadata goes
    to ``/parameters`` beside the energy and minimizer settings. observers are called as
    ``fn(step, Z, E, f)`` after every step (f: per-point forces).

    objective: replaces the ER energy by another function of Z returning ``(value, -grad)``
    in the same normalization (used for the tethered model and the projected-sphere
    baseline, which both call the ER energy inside); default ``energy_and_forces(Z, params)``.
    """
    params = EnergyParams() if params is None else params
    Z = as_points(Z)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not (np.isfinite(fmax) and fmax > 0):
        raise ValueError(f"fmax must be a positive number, got {fmax}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps}")
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature > 0 and method not in ("langevin", "rbm"):
        raise ValueError(f"temperature > 0 needs method 'langevin' or 'rbm', got method {method!r}")
    if method == "rbm":
        if batch_size is None or int(batch_size) != batch_size or not 2 <= batch_size <= Z.shape[0]:
            raise ValueError(f"method 'rbm' needs batch_size, an integer in [2, N = {Z.shape[0]}], "
                             f"got {batch_size}")
        if objective is not None:
            raise ValueError("method 'rbm' estimates the ER energy itself; it takes no objective")
    elif batch_size is not None:
        raise ValueError(f"batch_size is for method 'rbm' only, got method {method!r}")
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number, got {dt}")
    if int(every) != every or every < 0:
        raise ValueError(f"every must be an integer >= 0, got {every}")
    n, d = Z.shape
    steps = int(steps)

    evaluations = 0
    rng = np.random.default_rng(seed)

    def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        e, forces = (energy_and_forces(x, params) if objective is None else objective(x))
        return e, forces * n

    def estimate(x: np.ndarray) -> tuple[float, np.ndarray]:  # method "rbm"
        nonlocal evaluations
        evaluations += 1
        e, forces = random_batch_energy_and_forces(x, params, batch_size, rng)
        return e, forces * n

    fire_params = fire_params or FireParams(max_step=0.1 * length_scale(params))
    e0, _ = evaluate(Z)
    if not np.isfinite(e0):
        raise RelaxationError(
            "the initial points contain coincident pairs, so the energy is infinite at "
            f"s = {params.s} >= 0; remove duplicates or set a softening > 0")

    settings: dict[str, Any] = {"method": method, "fmax": fmax, "max_steps": steps,
                                "temperature": temperature, "seed": -1 if seed is None else seed}
    if method == "fire":
        settings["fire"] = {k: (-1.0 if v is None else v)
                            for k, v in fire_params.__dict__.items()}
    if dt is None:
        dt = {"langevin": 0.01, "rbm": 0.1}.get(method)
    if method in ("langevin", "rbm"):
        settings["dt"] = dt
    if method == "rbm":
        settings["batch_size"] = int(batch_size)
        settings["anneal_after"] = steps // 10
    writer = None
    if out is not None:
        parameters = {"energy": params.as_dict(), "minimizer": settings,
                      "command_line": " ".join(sys.argv), "n": n, "dim": d}
        parameters.update(dict(metadata or {}))
        from particles.trajectory import TrajectoryWriter  # h5py only when writing

        writer = TrajectoryWriter(out, n_particles=n, dimension=d, group="cloud",
                                  parameters=parameters, overwrite=overwrite)

    history: dict[str, list[float]] = {"step": [], "energy": [], "max_force": []}
    last: dict[str, Any] = {}
    state = {"converged": False, "nonfinite": False, "written": -1}

    def write_frame(step: int, x: np.ndarray, e: float, fmax_now: float) -> None:
        if writer is not None and state["written"] != step:
            writer.write(step, x, observables={"energy": e, "max_force": fmax_now})
            state["written"] = step

    def observe(step: int, x: np.ndarray, e: float, f: np.ndarray) -> bool:
        fmax_now = largest_row_norm(f)
        if not (np.isfinite(e) and np.isfinite(fmax_now)):
            state["nonfinite"] = True
            return True
        history["step"].append(step)
        history["energy"].append(e)
        history["max_force"].append(fmax_now)
        last.update(step=step, x=x.copy() if method == "lbfgs" else x, e=e, fmax=fmax_now)
        final_estimate = method == "rbm" and step >= steps  # written exact after the run
        if step == 0 or (every and step % every == 0 and not final_estimate):
            write_frame(step, x, e, fmax_now)
        for fn in observers:
            fn(step, x, e, f)
        if temperature == 0.0 and method != "rbm" and fmax_now < fmax:
            state["converged"] = True
            return True
        return step >= steps

    start = time.perf_counter()
    # BLAS held to one thread: its idle spinning threads (woken by the minimizers' small
    # vector operations) otherwise take the cores from the Numba kernel, 3-10x slower on 2 cores
    blas = threadpool_limits(limits=1, user_api="blas")
    try:
        if method == "fire":
            fire(Z, evaluate, steps, observe, fire_params)
        elif method == "gd":
            gradient_descent(Z, evaluate, steps, observe)
        elif method == "lbfgs":
            lbfgs(Z, evaluate, steps, observe)
        elif method == "langevin":
            langevin(Z, evaluate, steps, observe, temperature=temperature, dt=dt, rng=rng)
        else:
            langevin(Z, estimate, steps, observe, temperature=temperature, dt=dt, rng=rng,
                     anneal_after=steps // 10)
            if last and not state["nonfinite"]:  # report the exact energy and force
                e, f = evaluate(last["x"])
                last.update(e=e, fmax=largest_row_norm(f))
                state["converged"] = temperature == 0.0 and last["fmax"] < fmax
        if last:
            write_frame(last["step"], last["x"], last["e"], last["fmax"])
    finally:
        blas.restore_original_limits()
        if writer is not None:
            writer.close()
    wall = time.perf_counter() - start

    if state["nonfinite"]:
        where = f" after step {last['step']}" if last else ""
        raise RelaxationError(
            f"energy or forces became non-finite{where} with method {method!r}; "
            "try a smaller dt, method 'fire', or a softening > 0")
    if state["converged"]:
        reason = f"converged: max per-point force {last['fmax']:.3g} < fmax {fmax:.3g}"
    elif temperature > 0:
        reason = f"ran {last['step']} steps of Langevin dynamics at temperature {temperature:g}"
    elif method == "rbm":
        reason = (f"not converged: ran {last['step']} random-batch steps; exact max force "
                  f"{last['fmax']:.3g} >= fmax {fmax:.3g}")
    elif last["step"] >= steps:
        reason = f"not converged: reached the step limit {steps} (max force {last['fmax']:.3g})"
    else:
        reason = (f"not converged: {method} stopped at step {last['step']} without progress "
                  f"(floating-point limit; max force {last['fmax']:.3g})")
    return RelaxResult(
        positions=np.array(last["x"], dtype=np.float64), energy=float(last["e"]),
        max_force=float(last["fmax"]), steps=int(last["step"]), n_evaluations=evaluations,
        converged=bool(state["converged"]), reason=reason, method=method, params=params,
        fmax=float(fmax), wall_time=wall,
        history={k: np.asarray(v) for k, v in history.items()},
        out=None if out is None else str(out))
