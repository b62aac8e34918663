"""Random-batch estimates (Jin-Li-Liu 2020) and the "rbm" relaxation."""

import numpy as np
import pytest

from particles import EnergyParams, energy_and_forces, random_cloud, relax
from particles.random_batch import random_batch_energy_and_forces

P = EnergyParams(s=1.0, alpha=2.0, repulsion=0.8)


def test_full_batch_is_the_exact_evaluation():
    Z = random_cloud(40, 3, P, seed=3)
    e, f = random_batch_energy_and_forces(Z, P, 40, np.random.default_rng(0))
    e_ref, f_ref = energy_and_forces(Z, P)
    assert e == pytest.approx(e_ref, rel=1e-14)
    np.testing.assert_allclose(f, f_ref, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("batch_size", [2, 4, 6])
def test_estimates_are_unbiased(batch_size):
    # p divides N = 24: the mean over random partitions converges to the exact values
    Z = random_cloud(24, 3, P, seed=4)
    e_ref, f_ref = energy_and_forces(Z, P)
    rng = np.random.default_rng(5)
    samples = [random_batch_energy_and_forces(Z, P, batch_size, rng) for _ in range(4000)]
    energies = np.array([e for e, _ in samples])
    forces = np.array([f for _, f in samples])
    e_err = energies.std() / np.sqrt(len(samples))
    f_err = forces.std(axis=0) / np.sqrt(len(samples))
    assert abs(energies.mean() - e_ref) < 5 * e_err
    assert np.all(np.abs(forces.mean(axis=0) - f_ref) < 5 * f_err + 1e-15)


def test_bad_batch_size_is_refused():
    with pytest.raises(ValueError, match="batch_size must be an integer in \\[2, N = 5\\]"):
        random_batch_energy_and_forces(random_cloud(5, 2), P, 1, np.random.default_rng())


def test_rbm_relaxation_reaches_the_full_minimum():
    # stated tolerance (README): radius within 0.1 %, energy within 0.05 % of the full
    # relaxation; here N = 1024, p = 128 (1/8 of the pairs per step)
    n, d = 1024, 5
    params = EnergyParams(s=1.0)
    Z0 = random_cloud(n, d, params, seed=1)
    full = relax(Z0, params, method="lbfgs", fmax=1e-5, steps=20_000)
    rbm = relax(Z0, params, method="rbm", batch_size=128, steps=1500, seed=2)
    assert full.converged
    assert not rbm.converged and rbm.reason.startswith("not converged: ran 1500 random-batch")
    radius = np.linalg.norm(rbm.positions, axis=1).mean()
    radius_full = np.linalg.norm(full.positions, axis=1).mean()
    assert radius == pytest.approx(radius_full, rel=1e-3)
    assert rbm.energy == pytest.approx(full.energy, rel=5e-4)
    assert rbm.energy > full.energy  # exact energy of the final state, not an estimate
    assert rbm.n_evaluations == 1501 + 2  # estimates at steps 0..1500, exact at start and end


def test_rbm_trajectory_ends_with_the_exact_state(tmp_path):
    from particles import read_trajectory

    params = EnergyParams(s=1.0)
    Z0 = random_cloud(40, 3, params, seed=0)
    r = relax(Z0, params, method="rbm", batch_size=8, steps=20, every=10, seed=1,
              out=tmp_path / "rbm.h5")
    traj = read_trajectory(tmp_path / "rbm.h5")
    assert list(traj.step) == [0, 10, 20]
    steps, energies = traj.observables["energy"]
    assert energies[-1] == r.energy == energy_and_forces(r.positions, params)[0]
    np.testing.assert_array_equal(traj.positions[-1], r.positions)
