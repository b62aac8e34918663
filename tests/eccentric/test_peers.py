"""Every peer of the benchmark computes the engine's energy and forces (equal work)."""

import importlib.util

import numpy as np
import pytest

from eccentric.peers import IMPLS, PeerUnavailable, peak_bytes, prepare
from particles import EnergyParams, energy_and_forces


def _available(impl: str) -> bool:
    module = {"torch": "torch", "torch-er": "torch", "keops": "pykeops", "jax": "jax"}.get(impl)
    return module is None or importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("s", [1.0, 0.0, 0.5])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_peer_matches_the_engine(impl, s, dtype):
    if not _available(impl):
        pytest.skip(f"{impl} is not installed (optional: pip install -e '.[bench]')")
    # N = 1100 > the row block (1024) of the blocked peers: a partial block is exercised
    Z = np.random.default_rng(3).normal(size=(1100, 5)).astype(dtype)
    params = EnergyParams(s=s, alpha=2.0, repulsion=0.7)
    try:
        evaluate = prepare(impl, Z, params)
    except PeerUnavailable as exc:
        assert impl == "numpy" and dtype == "float32", exc
        return
    e, f = evaluate()
    e_ref, f_ref = energy_and_forces(Z.astype(np.float64), params)
    tol = 1e-10 if dtype == "float64" else 2e-5
    assert e == pytest.approx(e_ref, rel=tol)
    assert f.shape == Z.shape
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=tol * 10 * np.abs(f_ref).max())


def test_memory_limit_and_unknown_impl_are_reported():
    Z = np.zeros((4096, 16))
    assert peak_bytes("numpy", 4096, 16, 8) > 2**30
    with pytest.raises(PeerUnavailable, match="needs ~"):
        prepare("numpy", Z, EnergyParams(), memory_limit=2**30)
    with pytest.raises(ValueError, match="unknown implementation 'cupy'"):
        prepare("cupy", Z, EnergyParams())
