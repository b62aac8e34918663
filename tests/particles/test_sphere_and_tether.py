import numpy as np
import pytest

from particles import EnergyParams
from particles.sphere import pair_sum, random_sphere_points, relax_on_sphere, riesz_sum
from particles.tether import tethered_energy_and_forces


@pytest.mark.parametrize(("n", "reference"), [(5, 6.474691495), (12, 49.165253058),
                                              (32, 412.261274651)])
def test_thomson_minima_to_1e6(n, reference):
    best = min((relax_on_sphere(random_sphere_points(n, 3, seed), 1.0, fmax=1e-7)
                for seed in range(4)), key=lambda r: r.riesz_sum)
    assert best.riesz_sum == pytest.approx(reference, rel=1e-6)
    np.testing.assert_allclose(np.linalg.norm(best.positions, axis=1), 1.0, rtol=1e-14)


def test_riesz_and_pair_sums_match_direct_sums():
    X = random_sphere_points(20, 4, seed=3)
    r = np.linalg.norm(X[:, None] - X[None], axis=-1)[np.triu_indices(20, 1)]
    assert riesz_sum(X, 1.0) == pytest.approx(np.sum(1 / r), rel=1e-12)
    assert riesz_sum(X, 0.0) == pytest.approx(np.sum(-np.log(r)), rel=1e-12)
    assert riesz_sum(X, -1.0) == pytest.approx(np.sum(r), rel=1e-12)
    assert pair_sum(X, 2.0) == pytest.approx(np.sum((r ** -2.0 - 1) / 2), rel=1e-12)


def test_tethered_forces_are_minus_gradient():
    rng = np.random.default_rng(0)
    Z, A = rng.normal(size=(12, 3)), rng.normal(size=(12, 3))
    p = EnergyParams(s=0.5)
    _, forces = tethered_energy_and_forces(Z, A, 0.7, p)
    h = 1e-6
    for idx in [(0, 0), (5, 2), (11, 1)]:
        zp, zm = Z.copy(), Z.copy()
        zp[idx] += h
        zm[idx] -= h
        numeric = -(tethered_energy_and_forces(zp, A, 0.7, p)[0]
                    - tethered_energy_and_forces(zm, A, 0.7, p)[0]) / (2 * h)
        assert forces[idx] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    with pytest.raises(ValueError, match="beta"):
        tethered_energy_and_forces(Z, A, -1.0, p)
