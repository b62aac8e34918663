import math

import numpy as np
import pytest

from analysis.metrics import radial_summary
from analysis.theory import (
    coulomb_ball_energy,
    predict,
    sphere_constant,
    sphere_energy,
    sphere_radius,
    support_kind,
)


def _sphere_pairs(d, n, rng):
    u = rng.standard_normal((2, n, d))
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    return np.linalg.norm(u[0] - u[1], axis=-1)


def test_worked_example_of_the_design():
    assert sphere_constant(1.0, 5) == pytest.approx(0.8, rel=1e-14)
    assert sphere_radius(5, 1.0) == pytest.approx(0.4 ** (1 / 3), rel=1e-14)
    assert round(sphere_radius(5, 1.0), 5) == 0.73681
    assert round(sphere_energy(5, 1.0), 5) == 0.31433


@pytest.mark.parametrize(("s", "d"), [(1.0, 3), (1.0, 5), (-1.0, 4), (0.5, 8), (2.0, 16),
                                      (-1.5, 2), (3.0, 32)])
def test_sphere_constant_against_monte_carlo(s, d):
    r = _sphere_pairs(d, 400_000, np.random.default_rng(0))
    samples = r ** (-s)
    mc, err = samples.mean(), samples.std() / math.sqrt(len(samples))
    assert abs(sphere_constant(s, d) - mc) < 5 * err + 1e-12


def test_sphere_constant_known_values():
    assert sphere_constant(-1.0, 3) == pytest.approx(4 / 3, rel=1e-14)  # E|u-v| on S^2
    assert sphere_constant(1.0, 3) == pytest.approx(1.0, rel=1e-14)  # Newton's shell
    assert sphere_constant(-2.0 + 1e-12, 6) == pytest.approx(2.0, rel=1e-9)  # E|u-v|^2 = 2
    with pytest.raises(ValueError, match="diverges"):
        sphere_constant(2.0, 3)


def test_log_sphere_energy_against_monte_carlo():
    d = 6
    r = _sphere_pairs(d, 400_000, np.random.default_rng(1))
    radius = sphere_radius(d, 0.0)
    assert radius == pytest.approx(math.sqrt(0.5))
    samples = -np.log(radius * r)
    mc = 0.5 * radius ** 2 + 0.5 * samples.mean()
    assert sphere_energy(d, 0.0) == pytest.approx(mc, abs=5 * samples.std() / 632)


def test_sphere_radius_minimizes_the_sphere_energy():
    d, s, lam = 7, 1.5, 2.0
    c = sphere_constant(s, d)

    def energy_on_sphere(r):
        return r * r / 2 + lam / 2 * (c * r ** (-s) - 1) / s

    r_star = sphere_radius(d, s, lam)
    assert energy_on_sphere(r_star) == pytest.approx(sphere_energy(d, s, lam), rel=1e-14)
    assert energy_on_sphere(r_star * 1.001) > energy_on_sphere(r_star)
    assert energy_on_sphere(r_star * 0.999) > energy_on_sphere(r_star)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_coulomb_ball_energy_against_monte_carlo(d):
    lam = 2.0
    rng = np.random.default_rng(d)
    n = 300_000
    radius = lam ** (1 / d)

    def ball(rng):
        u = rng.standard_normal((n, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        return radius * u * rng.random((n, 1)) ** (1 / d)

    x, y = ball(rng), ball(rng)
    r = np.linalg.norm(x - y, axis=1)
    s = d - 2
    psi = -np.log(r) if s == 0 else (r ** (-s) - 1) / s
    samples = 0.5 * (x ** 2).sum(1) + lam / 2 * psi
    err = samples.std() / math.sqrt(n)
    assert coulomb_ball_energy(d, lam) == pytest.approx(samples.mean(), abs=6 * err)


@pytest.mark.parametrize(
    ("d", "s", "alpha", "kind"),
    [(5, 1.0, 2.0, "sphere"), (4, 0.0, 2.0, "sphere"), (3, -1.0, 2.0, "sphere"),
     (3, 1.0, 2.0, "ball"), (2, 0.0, 2.0, "ball"), (3, 0.0, 2.0, "ball"),
     (8, 5.0, 2.0, "ball"), (3, 1.5, 2.0, "unknown"), (5, 1.0, 1.5, "unknown")])
def test_support_kinds(d, s, alpha, kind):
    assert support_kind(d, s, alpha) == kind
    prediction = predict(d, s, 1.0, alpha)
    assert prediction.support == kind
    has_closed_form = kind == "sphere" or (kind == "ball" and s == d - 2)
    assert (prediction.radius is not None) == has_closed_form
    assert (prediction.energy is not None) == has_closed_form


def test_predict_validates():
    with pytest.raises(ValueError, match="s must be > -2"):
        predict(3, -2.0)
    with pytest.raises(ValueError, match="dim"):
        predict(0, 1.0)
    with pytest.raises(ValueError, match="repulsion"):
        predict(3, 1.0, repulsion=0.0)


def test_radial_summary():
    pts = np.array([[3.0, 4.0], [0.0, 1.0]])
    summary = radial_summary(pts)
    assert summary["radius_mean"] == 3.0 and summary["radius_std"] == 2.0
    assert summary["radius_cv"] == pytest.approx(2 / 3)
    assert (summary["radius_min"], summary["radius_max"]) == (1.0, 5.0)
