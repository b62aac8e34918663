import numpy as np
import pytest

from particles import EnergyParams, RelaxationError, energy, random_cloud, relax

P = EnergyParams(s=1.0)


@pytest.fixture(scope="module")
def small_cloud():
    return random_cloud(8, 6, P, seed=3)


def test_fire_lbfgs_gd_agree_on_the_final_energy(small_cloud):
    results = {m: relax(small_cloud, P, method=m, fmax=1e-7, steps=50_000)
               for m in ("fire", "lbfgs", "gd")}
    for m, r in results.items():
        assert r.converged, (m, r.reason)
        assert r.max_force < 1e-7
        assert r.energy == pytest.approx(energy(r.positions, P), rel=1e-15)
    e = results["lbfgs"].energy
    assert results["fire"].energy == pytest.approx(e, rel=1e-12)
    assert results["gd"].energy == pytest.approx(e, rel=1e-12)


def test_gradient_descent_never_raises_the_energy():
    Z = random_cloud(60, 3, P, seed=1)
    r = relax(Z, P, method="gd", steps=300, fmax=1e-12)
    assert np.all(np.diff(r.history["energy"]) <= 0)
    assert not r.converged and "step limit 300" in r.reason and r.steps == 300


def test_gradient_descent_survives_a_huge_first_step():
    Z = random_cloud(30, 2, EnergyParams(s=2.0), seed=0) * 1e-3  # very stiff start
    r = relax(Z, EnergyParams(s=2.0), method="gd", steps=2000, fmax=1e-4)
    assert np.isfinite(r.energy) and r.energy < energy(Z, EnergyParams(s=2.0))


def test_history_and_convergence_reporting():
    Z = random_cloud(50, 4, P, seed=2)
    r = relax(Z, P, fmax=1e-4)
    assert r.converged and r.reason.startswith("converged")
    assert r.history["step"][0] == 0 and r.history["step"][-1] == r.steps
    assert r.history["max_force"][-1] == r.max_force < 1e-4
    assert r.n_evaluations >= r.steps


def test_sphere_radius_for_a_sphere_case():
    # d = 5, s = 1 is a sphere case: R* = 0.4**(1/3); N = 150 sits slightly below it
    r = relax(random_cloud(150, 5, P, seed=0), P, method="lbfgs", fmax=1e-5)
    radii = np.linalg.norm(r.positions, axis=1)
    assert r.converged
    assert radii.mean() == pytest.approx(0.4 ** (1 / 3), rel=0.02)
    assert radii.mean() < 0.4 ** (1 / 3)
    assert radii.std() / radii.mean() < 0.01


def test_equilibria_scale_as_repulsion_to_one_over_s_plus_two():
    # forces obey F_lambda(k Z) = k F_1(Z) with k = lambda**(1/(s+2)): a relaxed cloud at
    # lambda = 1, scaled by k, is relaxed at lambda, and relaxing it further changes nothing
    r1 = relax(random_cloud(60, 6, P, seed=4), P, method="lbfgs", fmax=1e-7)
    assert r1.converged
    k = 8.0 ** (1 / 3)
    p8 = EnergyParams(s=1.0, repulsion=8.0)
    r8 = relax(r1.positions * k, p8, method="lbfgs", fmax=1e-7 * k * 1.0001)
    assert r8.steps == 0 and r8.converged
    assert r8.max_force == pytest.approx(k * r1.max_force, rel=1e-6)


def test_langevin_at_temperature_runs_all_steps_reproducibly():
    Z = random_cloud(40, 3, P, seed=0)
    a = relax(Z, P, method="langevin", temperature=0.01, steps=200, seed=7)
    b = relax(Z, P, method="langevin", temperature=0.01, steps=200, seed=7)
    c = relax(Z, P, method="langevin", temperature=0.01, steps=200, seed=8)
    assert a.steps == 200 and not a.converged and "Langevin" in a.reason
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, c.positions)


def test_langevin_at_zero_temperature_descends():
    Z = random_cloud(40, 3, P, seed=0)
    r = relax(Z, P, method="langevin", steps=500, fmax=1e-12)
    assert r.energy < energy(Z, P)


def test_langevin_temperature_sets_the_radial_spread():
    # harmonic confinement only matters radially; hotter clouds are wider on the sphere
    Z = random_cloud(100, 5, P, seed=0)
    cold = relax(Z, P, method="langevin", temperature=1e-4, steps=3000, seed=1)
    hot = relax(Z, P, method="langevin", temperature=1e-2, steps=3000, seed=1)
    cv = [np.std(np.linalg.norm(r.positions, axis=1)) for r in (cold, hot)]
    assert cv[1] > 3 * cv[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "newton"}, "method must be one of"), ({"fmax": 0.0}, "fmax"),
     ({"steps": -1}, "steps"), ({"temperature": -1.0}, "temperature"),
     ({"temperature": 0.1, "method": "fire"}, "needs method 'langevin' or 'rbm'"),
     ({"method": "rbm"}, "method 'rbm' needs batch_size"),
     ({"method": "rbm", "batch_size": 6}, "batch_size, an integer in \\[2, N = 5\\]"),
     ({"method": "fire", "batch_size": 3}, "batch_size is for method 'rbm' only"),
     ({"dt": 0.0, "method": "langevin"}, "dt"), ({"every": -2}, "every")])
def test_bad_relax_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        relax(random_cloud(5, 2), P, **kwargs)


def test_coincident_start_is_refused_with_a_named_cause():
    Z = np.array([[0.1, 0.0], [0.1, 0.0], [0.0, 0.3]])
    with pytest.raises(RelaxationError, match="coincident"):
        relax(Z, P)
    r = relax(Z, EnergyParams(s=1.0, softening=0.05), fmax=1e-3)
    assert r.converged


def test_random_cloud_validates_and_scales():
    with pytest.raises(ValueError, match="n must be"):
        random_cloud(1, 3)
    with pytest.raises(ValueError, match="dim must be"):
        random_cloud(5, 0)
    Z = random_cloud(4000, 4, EnergyParams(s=1.0, repulsion=27.0), seed=0)
    assert np.sqrt((Z ** 2).sum(1).mean()) == pytest.approx(0.5 * 27 ** (1 / 3), rel=0.03)
    assert random_cloud(3, 2, dtype=np.float32).dtype == np.float32
