"""Minimizers and dynamics on the ER energy: FIRE, gradient descent, L-BFGS, overdamped Langevin
(also driven by random-batch forces: "rbm", see particles.random_batch and particles.relax).

All of them work with the per-point force f_i = -N dE/dz_i (``particles.energy``), whose
scale does not depend on N, so step sizes and the convergence threshold ``fmax`` mean the
same thing for every cloud size. Time is in units where the harmonic confinement
(alpha = 2) has unit stiffness.

Each minimizer is a function ``run(Z, evaluate, max_steps, observe, ...) -> Z`` where
``evaluate(Z) -> (E, f)`` returns the energy and per-point forces, and
``observe(step, Z, E, f) -> bool`` is called after every step (and once at step 0 with the
initial state); it returns True to stop. The driver (``particles.relax``) supplies the
observer: convergence test, history, trajectory writing, progress (ASE's observer idea).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from particles.energy import largest_row_norm

__all__ = ["FireParams", "fire", "gradient_descent", "lbfgs", "langevin", "METHODS"]

Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray]]
Observe = Callable[[int, np.ndarray, float, np.ndarray], bool]


@dataclass(frozen=True)
class FireParams:
    """FIRE parameters, named and defaulted as in Bitzek, Koskinen, Gaehler, Moseler, Gumbsch,
    "Structural relaxation made simple", PRL 97, 170201 (2006): N_min = 5, f_inc = 1.1,
    f_dec = 0.5, alpha_start = 0.1, f_alpha = 0.99, dt_max = 10 dt_start.

    max_step caps the largest per-point displacement of one step (a length; None: no cap),
    the safeguard ASE also applies.
    """

    dt_start: float = 0.1
    dt_max: float = 1.0
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha_start: float = 0.1
    f_alpha: float = 0.99
    max_step: float | None = None


def fire(Z: np.ndarray, evaluate: Evaluate, max_steps: int, observe: Observe,
         params: FireParams = FireParams()) -> np.ndarray:
    """Fast Inertial Relaxation Engine (Bitzek et al. 2006), semi-implicit Euler as in ASE."""
    x = np.array(Z, dtype=np.float64)
    v = np.zeros_like(x)
    e, f = evaluate(x)
    if observe(0, x, e, f):
        return x
    dt, mix, n_pos = params.dt_start, params.alpha_start, 0
    for step in range(1, max_steps + 1):
        power = float(np.vdot(f, v))
        if power > 0.0:
            f_norm = np.linalg.norm(f)
            if f_norm > 0.0:
                v = (1.0 - mix) * v + (mix * np.linalg.norm(v) / f_norm) * f
            if n_pos > params.n_min:
                dt = min(dt * params.f_inc, params.dt_max)
                mix *= params.f_alpha
            n_pos += 1
        else:
            dt *= params.f_dec
            v[:] = 0.0
            mix, n_pos = params.alpha_start, 0
        v += dt * f
        dx = dt * v
        if params.max_step is not None:
            largest = largest_row_norm(dx)
            if largest > params.max_step:
                dx *= params.max_step / largest
        x += dx
        e, f = evaluate(x)
        if observe(step, x, e, f):
            break
    return x


def gradient_descent(Z: np.ndarray, evaluate: Evaluate, max_steps: int, observe: Observe,
                     step_size: float = 0.1, armijo: float = 1e-4, grow: float = 1.25,
                     shrink: float = 0.5) -> np.ndarray:
    """Steepest descent x <- x + eta f with a backtracking (Armijo) step size.

    A trial step is accepted only if the total energy N E falls by at least
    ``armijo * eta * |f|^2``; otherwise eta shrinks and the step is retried. The energy
    therefore never rises and the iteration cannot blow up. eta grows after every accepted
    step, so it tracks the largest stable step. Stops when eta underflows (1e-16): an energy
    test cannot resolve forces much below sqrt(machine epsilon) ~ 1e-8, so GD stalls there.
    """
    x = np.array(Z, dtype=np.float64)
    n = x.shape[0]
    e, f = evaluate(x)
    if observe(0, x, e, f):
        return x
    eta = step_size
    for step in range(1, max_steps + 1):
        f2 = float(np.vdot(f, f))
        while True:
            trial = x + eta * f
            e_trial, f_trial = evaluate(trial)
            if e_trial < e and n * e_trial <= n * e - armijo * eta * f2:
                break
            eta *= shrink
            if eta < 1e-16:
                return x
        x, e, f = trial, e_trial, f_trial
        eta *= grow
        if observe(step, x, e, f):
            break
    return x


def lbfgs(Z: np.ndarray, evaluate: Evaluate, max_steps: int, observe: Observe,
          memory: int = 20) -> np.ndarray:
    """L-BFGS (scipy.optimize, L-BFGS-B without bounds) on the total energy N E.

    scipy's own stopping tests are switched off (gtol = ftol = 0); the observer decides
    when to stop. scipy also stops when its line search cannot make progress (precision).
    (``particles.relax`` holds BLAS to one thread around every minimizer: see there.)
    """
    import scipy.optimize  # here, not at module level: ~50 MB that energy-only users skip
    shape = Z.shape
    n = shape[0]
    cache: dict[str, object] = {}

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = flat.reshape(shape)
        e, f = evaluate(x)
        cache.update(x=flat.copy(), e=e, f=f)
        return n * e, -f.ravel()

    x0 = np.array(Z, dtype=np.float64)
    e0, f0 = evaluate(x0)
    if observe(0, x0, e0, f0):
        return x0
    counter = {"step": 0}

    def callback(intermediate_result) -> None:
        counter["step"] += 1
        flat = intermediate_result.x
        if np.array_equal(flat, cache["x"]):
            e, f = cache["e"], cache["f"]
        else:
            e, f = evaluate(flat.reshape(shape))
        if observe(counter["step"], flat.reshape(shape), e, f):
            raise StopIteration

    result = scipy.optimize.minimize(
        fun, x0.ravel(), jac=True, method="L-BFGS-B", callback=callback,
        options={"maxiter": max_steps, "maxfun": 50 * max_steps + 100, "maxcor": memory,
                 "ftol": 0.0, "gtol": 0.0})
    return result.x.reshape(shape)


def langevin(Z: np.ndarray, evaluate: Evaluate, max_steps: int, observe: Observe,
             temperature: float = 0.0, dt: float = 0.01,
             rng: np.random.Generator | None = None, anneal_after: int = 0) -> np.ndarray:
    """Overdamped Langevin dynamics, Euler-Maruyama: x <- x + dt f + sqrt(2 T dt) xi.

    Samples exp(-N E / T) (T is a per-point temperature in energy units); T = 0 is plain
    fixed-step gradient flow. anneal_after = K > 0: from step K on the step shrinks as
    dt K / step (sum of steps infinite, sum of squares finite), so that dynamics driven by
    noisy force estimates (random batches) settle on the minimum instead of jittering
    around it.
    """
    rng = np.random.default_rng() if rng is None else rng
    x = np.array(Z, dtype=np.float64)
    e, f = evaluate(x)
    if observe(0, x, e, f):
        return x
    for step in range(1, max_steps + 1):
        h = dt * anneal_after / step if 0 < anneal_after < step else dt
        x = x + h * f
        if temperature > 0.0:
            x += np.sqrt(2.0 * temperature * h) * rng.standard_normal(x.shape)
        e, f = evaluate(x)
        if observe(step, x, e, f):
            break
    return x


METHODS = ("fire", "lbfgs", "gd", "langevin", "rbm")
