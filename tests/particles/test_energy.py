import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import special_ortho_group

from particles import EnergyParams, energy, energy_and_forces, max_point_force
from particles.reference import reference_energy_and_forces

S_VALUES = [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.3]


@st.composite
def clouds(draw, max_n=24, max_d=6):
    n = draw(st.integers(2, max_n))
    d = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2**31 - 1))
    s = draw(st.sampled_from(S_VALUES) | st.floats(-1.9, 4.0))
    alpha = draw(st.sampled_from([2.0, 1.0, 1.5, 3.0]))
    repulsion = draw(st.sampled_from([1.0, 0.3, 5.0]))
    softening = draw(st.sampled_from([0.0, 0.0, 0.05, 0.5]))
    Z = np.random.default_rng(seed).normal(size=(n, d))
    return Z, EnergyParams(s=s, alpha=alpha, repulsion=repulsion, softening=softening)


@given(clouds())
def test_energy_and_forces_equal_numpy_reference(case):
    Z, p = case
    e_ref, f_ref = reference_energy_and_forces(Z, p)
    e, f = energy_and_forces(Z, p)
    assert e == pytest.approx(e_ref, rel=1e-12, abs=1e-12)
    assert energy(Z, p) == pytest.approx(e, rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(f, f_ref, rtol=1e-10, atol=1e-12 * (np.abs(f_ref).max() + 1.0))


@given(clouds(max_n=10, max_d=4))
def test_forces_are_minus_gradient_by_central_differences(case):
    Z, p = case
    _, forces = energy_and_forces(Z, p)
    h = 1e-6
    numeric = np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        zp, zm = Z.copy(), Z.copy()
        zp[idx] += h
        zm[idx] -= h
        numeric[idx] = -(energy(zp, p) - energy(zm, p)) / (2 * h)
    scale = np.abs(forces).max()
    np.testing.assert_allclose(forces, numeric, rtol=1e-5, atol=1e-6 * scale + 1e-10)


@given(clouds(), st.integers(0, 2**31 - 1))
def test_rotation_and_permutation_invariance(case, seed):
    Z, p = case
    rng = np.random.default_rng(seed)
    d = Z.shape[1]
    Q = special_ortho_group.rvs(d, random_state=rng) if d > 1 else np.array([[-1.0]])
    perm = rng.permutation(Z.shape[0])
    e, f = energy_and_forces(Z, p)
    e_rot, f_rot = energy_and_forces(Z @ Q, p)
    e_perm, f_perm = energy_and_forces(Z[perm], p)
    assert e_rot == pytest.approx(e, rel=1e-11, abs=1e-12)
    assert e_perm == pytest.approx(e, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(f_rot, f @ Q, atol=1e-10 * np.abs(f).max() + 1e-14)
    np.testing.assert_allclose(f_perm, f[perm], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("s", S_VALUES)
def test_two_points_analytic(s):
    a = 0.7
    Z = np.array([[a, 0.0, 0.0], [-a, 0.0, 0.0]])
    r = 2 * a
    psi = -math.log(r) if s == 0 else (r ** (-s) - 1) / s
    expected = a * a / 2 + 0.5 * psi
    e, f = energy_and_forces(Z, EnergyParams(s=s))
    assert e == pytest.approx(expected, rel=1e-14)
    # -dE/dz_0 on the x axis: attraction -a/2, repulsion (1/2) r^-(s+1)
    assert f[0, 0] == pytest.approx((-a + r ** (-s - 1)) / 2, rel=1e-13)
    assert f[1, 0] == pytest.approx(-f[0, 0], rel=1e-14)


def test_log_kernel_is_the_s_to_zero_limit():
    Z = np.random.default_rng(1).normal(size=(30, 4))
    e0 = energy(Z, EnergyParams(s=0.0))
    assert energy(Z, EnergyParams(s=1e-7)) == pytest.approx(e0, rel=1e-6)
    assert energy(Z, EnergyParams(s=-1e-7)) == pytest.approx(e0, rel=1e-6)


@pytest.mark.parametrize("s", [1.0, 0.0, 2.0, -1.0, 0.5])
@pytest.mark.parametrize("softening", [0.0, 0.1])
def test_float32_path_agrees_with_float64_to_float32_roundoff(s, softening):
    # N = 1031: many row groups, partial blocks and N mod 4 = 3 leftover rows
    Z32 = np.random.default_rng(2).normal(size=(1031, 8)).astype(np.float32)
    p = EnergyParams(s=s, softening=softening)
    e32, f32 = energy_and_forces(Z32, p)
    e_exact, f_exact = energy_and_forces(Z32.astype(np.float64), p)
    assert f32.dtype == np.float32
    assert energy(Z32, p) == pytest.approx(e32, rel=1e-12)
    assert e32 == pytest.approx(e_exact, rel=2e-6)
    np.testing.assert_allclose(f32, f_exact, rtol=1e-4, atol=2e-6 * np.abs(f_exact).max())


def test_integer_input_is_accepted_as_float64():
    Z = np.array([[0, 1], [1, 0], [2, 2]])
    assert energy(Z) == pytest.approx(energy(Z.astype(float)), rel=1e-15)


def test_coincident_points():
    Z = np.array([[0.5, 0.0], [0.5, 0.0], [-0.5, 0.2]])
    assert energy(Z, EnergyParams(s=1.0)) == math.inf
    assert energy(Z, EnergyParams(s=0.0)) == math.inf
    assert math.isfinite(energy(Z, EnergyParams(s=-1.0)))
    e, f = energy_and_forces(Z, EnergyParams(s=1.0, softening=0.1))
    assert math.isfinite(e) and np.isfinite(f).all()
    # the coincident pair adds no force: both copies feel the same force
    np.testing.assert_array_equal(f[0], f[1])


def test_zero_point_with_small_alpha_has_finite_force():
    Z = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    e, f = energy_and_forces(Z, EnergyParams(alpha=1.5))
    assert np.isfinite(f).all() and math.isfinite(e)


def test_max_point_force_is_scaled_by_n():
    f = np.array([[3.0, 4.0], [0.0, 1.0]])
    assert max_point_force(f) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"s": -2.0}, "s must be > -2"), ({"s": -3.0}, "s must be > -2"),
     ({"alpha": 0.0}, "alpha must be > 0"), ({"repulsion": -1.0}, "repulsion must be > 0"),
     ({"softening": -0.1}, "softening must be >= 0"), ({"s": float("nan")}, "finite")])
def test_energy_params_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EnergyParams(**kwargs)


def test_energy_params_is_frozen():
    p = EnergyParams()
    with pytest.raises(AttributeError):
        p.s = 2.0


@pytest.mark.parametrize(
    ("Z", "message"),
    [(np.zeros((1, 3)), "at least 2 points"), (np.zeros((4,)), "shape \\(N, d\\)"),
     (np.zeros((3, 0)), "d >= 1"), (np.array([[0.0, np.nan], [1.0, 1.0]]), "NaN"),
     (np.array([["a", "b"], ["c", "d"]]), "numeric")])
def test_bad_points_raise_clear_errors(Z, message):
    with pytest.raises((ValueError, TypeError), match=message):
        energy(Z)


def test_thread_counts_agree():
    import numba

    Z = np.random.default_rng(5).normal(size=(700, 7))
    p = EnergyParams(s=0.7, softening=0.01)
    before = numba.get_num_threads()
    e_all, f_all = energy_and_forces(Z, p)
    try:
        numba.set_num_threads(1)
        e_one, f_one = energy_and_forces(Z, p)
    finally:
        numba.set_num_threads(before)
    assert e_one == pytest.approx(e_all, rel=1e-13)
    np.testing.assert_allclose(f_one, f_all, rtol=1e-11, atol=1e-14)


def test_blocks_and_odd_sizes_match_the_reference():
    # N around the block size (256) and odd, so row pairing and block edges are exercised
    for n in (2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 259, 260, 513):
        Z = np.random.default_rng(n).normal(size=(n, 3))
        p = EnergyParams(s=1.3)
        e_ref, f_ref = reference_energy_and_forces(Z, p)
        e, f = energy_and_forces(Z, p)
        assert e == pytest.approx(e_ref, rel=1e-12)
        np.testing.assert_allclose(f, f_ref, rtol=1e-9, atol=1e-12 * np.abs(f_ref).max())


@pytest.mark.parametrize("case", ["near", "far", "both", "coincident"])
def test_log_kernel_outside_the_grouped_range(case):
    # s = 0 multiplies 16 squared distances before one log where all lie in [1e-16, 1e16];
    # these clouds put some pairs outside that range (or at r = 0) to exercise the fallback
    Z = np.random.default_rng(8).normal(size=(100, 3))
    if case in ("near", "both"):
        Z[1] = Z[0] + 1e-9
    if case in ("far", "both"):
        Z[2] = 1e9
    if case == "coincident":
        Z[3] = Z[4]
    p = EnergyParams(s=0.0)
    e, f = energy_and_forces(Z, p)
    if case == "coincident":
        assert e == math.inf and np.isfinite(f).all()
        return
    e_ref, f_ref = reference_energy_and_forces(Z, p)
    assert e == pytest.approx(e_ref, rel=1e-13)
    np.testing.assert_allclose(f, f_ref, rtol=1e-9, atol=1e-12 * np.abs(f_ref).max())
