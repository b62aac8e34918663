import json

import h5py
import pytest

from analysis.validate import SETTINGS, run_validation
from eccentric.cli import main

TINY = {"dims": (2, 3, 5), "support_n": 150, "support_n_high_d": 150, "radius_tol": 0.02,
        "convergence_cases": ((5, 1.0),), "convergence_n": (50, 100, 200), "scale_n": 80,
        "lambdas": (0.1, 1.0, 10.0), "tether_d": 4, "tether_n": 120, "betas": (0.01, 1.0, 100.0),
        "projection_cases": ((5, 0.0),), "projection_n": 60, "thomson_starts": 3,
        "minimizer_case": (5, 0.0, 100, 1e-4)}


def test_tiny_validation_passes_and_writes_its_report(tmp_path):
    report = run_validation("quick", tmp_path, settings=TINY)
    failed = [c for c in report.checks if c.passed is False]
    assert report.passed, failed
    groups = {c.group for c in report.checks}
    assert len(groups) == 6
    table = (tmp_path / "validation.md").read_text()
    assert "| group | check | expected | measured | tolerance | pass |" in table
    with h5py.File(tmp_path / "validation.h5", "r") as f:
        assert bool(f.attrs["passed"]) and len(json.loads(f.attrs["checks_json"])) == len(
            report.checks)
        assert "exponent" in f["scale"].attrs
    for name in ("support", "convergence", "scale", "eccentricity", "minimizers"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_a_wrong_theory_fails_the_report(tmp_path, monkeypatch):
    import analysis.validate as validate

    real = validate.predict

    def shifted(d, s, repulsion=1.0, alpha=2.0):
        p = real(d, s, repulsion, alpha)
        return p if p.radius is None else type(p)(p.support, 1.1 * p.radius, p.energy, p.case)

    monkeypatch.setattr(validate, "predict", shifted)
    settings = {**TINY, "dims": (5,)}
    report = run_validation("quick", None, settings=settings, groups=("support",))
    assert not report.passed
    assert any(c.passed is False and "sphere radius" in c.name for c in report.checks)


def test_modes_and_cli_errors(capsys):
    assert set(SETTINGS) == {"quick", "full"}
    with pytest.raises(ValueError, match="mode"):
        run_validation("medium")
    with pytest.raises(SystemExit):
        main(["validate", "--quick", "--full", "--out", "x"])
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_validation_passes(tmp_path):
    assert main(["validate", "--quick", "--out", str(tmp_path), "--json"]) == 0
