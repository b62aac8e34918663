import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autoencoder import EccentricRegularizer, er_energy
from particles import EnergyParams, energy_and_forces


@st.composite
def batches(draw):
    b = draw(st.integers(2, 40))
    d = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    s = draw(st.sampled_from([-1.5, -1.0, -0.3, 0.0, 0.5, 1.0, 2.0, 3.0]))
    alpha = draw(st.sampled_from([2.0, 1.5, 3.0]))
    softening = draw(st.sampled_from([0.0, 0.1]))
    Z = np.random.default_rng(seed).normal(size=(b, d))
    return Z, EnergyParams(s=s, alpha=alpha, repulsion=draw(st.sampled_from([1.0, 2.5])),
                           softening=softening)


def _torch_energy_and_grad(Z, params, dtype):
    z = torch.tensor(Z, dtype=dtype, requires_grad=True)
    e = EccentricRegularizer(params)(z)
    e.backward()
    return e.item(), z.grad.numpy().astype(np.float64)


@given(batches())
def test_float64_equals_the_engine_and_gradient_is_minus_forces(case):
    Z, p = case
    if np.min([np.linalg.norm(a - b) for i, a in enumerate(Z) for b in Z[i + 1:]]) < 1e-3:
        return  # the safe extension is active below min_distance (tested separately)
    e_ref, f_ref = energy_and_forces(Z, p)
    e, grad = _torch_energy_and_grad(Z, p, torch.float64)
    assert e == pytest.approx(e_ref, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(-grad, f_ref, rtol=1e-8, atol=1e-10 * np.abs(f_ref).max())


@given(batches())
def test_float32_within_1e5(case):
    Z, p = case
    if np.min([np.linalg.norm(a - b) for i, a in enumerate(Z) for b in Z[i + 1:]]) < 0.05:
        return
    Z = Z.astype(np.float32).astype(np.float64)
    e_ref, f_ref = energy_and_forces(Z, p)
    e, grad = _torch_energy_and_grad(Z, p, torch.float32)
    assert e == pytest.approx(e_ref, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(-grad, f_ref, rtol=1e-3, atol=1e-4 * np.abs(f_ref).max())


@pytest.mark.parametrize("s", [-1.0, 0.0, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("kind", ["all-equal", "zeros", "duplicates", "nearly-equal"])
def test_no_nan_or_inf_in_float32_at_degenerate_batches(s, kind):
    rng = np.random.default_rng(0)
    base = {"all-equal": np.tile(rng.normal(size=(1, 8)), (64, 1)),
            "zeros": np.zeros((64, 8)),
            "duplicates": np.repeat(rng.normal(size=(32, 8)), 2, axis=0),
            "nearly-equal": 1.0 + 1e-7 * rng.normal(size=(64, 8))}[kind]
    for alpha in (2.0, 1.5):
        z = torch.tensor(base, dtype=torch.float32, requires_grad=True)
        e = EccentricRegularizer(EnergyParams(s=s, alpha=alpha))(z)
        e.backward()
        assert torch.isfinite(e) and torch.isfinite(z.grad).all()


def test_safe_extension_is_continuous_and_pushes_close_pairs_apart():
    p = EnergyParams(s=1.0)
    delta = 1e-3

    def energy_at(gap):
        z = torch.tensor([[0.0, 0.0], [gap, 0.0]], dtype=torch.float64, requires_grad=True)
        e = er_energy(z, p, min_distance=delta)
        e.backward()
        return e.item(), z.grad[1, 0].item()

    below, above = energy_at(delta * (1 - 1e-9)), energy_at(delta * (1 + 1e-9))
    assert below[0] == pytest.approx(above[0], rel=1e-6)
    assert below[1] == pytest.approx(above[1], rel=1e-5)
    assert energy_at(0.5 * delta)[1] < 0  # gradient says: move the second code away (+x)
    z = torch.zeros(2, 3, dtype=torch.float64)
    assert er_energy(z, p, min_distance=0.0).item() == float("inf")  # raw energy, documented


def test_module_validates_inputs():
    reg = EccentricRegularizer(EnergyParams())
    with pytest.raises(ValueError, match="at least 2"):
        reg(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="shape"):
        reg(torch.zeros(4))
    with pytest.raises(ValueError, match="min_distance"):
        EccentricRegularizer(min_distance=-1.0)
    assert "s=1.0" in repr(reg)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    Z = np.random.default_rng(0).normal(size=(512, 16))
    p = EnergyParams(s=1.0)
    cpu = EccentricRegularizer(p)(torch.tensor(Z)).item()
    gpu = EccentricRegularizer(p)(torch.tensor(Z, device="cuda")).item()
    assert gpu == pytest.approx(cpu, rel=1e-10)


@pytest.mark.parametrize("s", [-1.0, 0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("min_distance", [0.0, 0.3])
def test_analytic_backward_passes_gradcheck(s, min_distance):
    # min_distance 0.3: several pairs of this batch are on the tangent extension
    z = torch.tensor(np.random.default_rng(7).normal(scale=0.3, size=(12, 3)),
                     dtype=torch.float64, requires_grad=True)
    p = EnergyParams(s=s, alpha=1.5, softening=0.01)
    assert torch.autograd.gradcheck(lambda x: er_energy(x, p, min_distance), (z,))


def test_float32_batch_far_from_the_origin_keeps_pair_precision():
    # the Gram form of r^2 cancels |z|^2-sized terms; codes are centred on their mean first.
    # repulsion 1e4: the pair term dominates the energy (without centring: ~10% off)
    Z = (np.random.default_rng(9).normal(scale=0.05, size=(64, 4)) + 30.0).astype(np.float32)
    p = EnergyParams(s=1.0, repulsion=1e4)
    e_ref, f_ref = energy_and_forces(Z.astype(np.float64), p)
    e, grad = _torch_energy_and_grad(Z, p, torch.float32)
    assert e == pytest.approx(e_ref, rel=1e-5)
    pair_forces = f_ref + Z / 64  # minus the confinement part -z/N, which is exact anyway
    np.testing.assert_allclose(-grad + Z / 64, pair_forces, rtol=0,
                               atol=1e-3 * np.abs(pair_forces).max())
