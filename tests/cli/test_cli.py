import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from eccentric.cli import main
from particles import TrajectoryWriter, read_trajectory


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def test_relax_json_summary_and_trajectory(capsys, tmp_path):
    out_file = tmp_path / "a.h5"
    code, out, _ = run_cli(capsys, "relax", "--dim", "5", "--n", "60", "--s", "1", "--fmax",
                           "1e-4", "--every", "5", "--out", str(out_file), "--json")
    assert code == 0
    summary = last_json(out)
    for key in ("n", "dim", "s", "alpha", "repulsion", "method", "steps", "converged",
                "max_force", "energy", "radius_mean", "radius_std", "radius_cv", "radius_min",
                "radius_max", "theory", "out"):
        assert key in summary
    assert summary["converged"] and summary["max_force"] < 1e-4
    assert summary["theory"]["support"] == "sphere"
    assert summary["theory"]["radius"] == pytest.approx(0.73681, abs=1e-5)
    traj = read_trajectory(out_file)
    assert traj.step[-1] == summary["steps"]
    assert traj.observables["energy"][1][-1] == summary["energy"]


def test_relax_restarts_from_an_h5md_file(capsys, tmp_path):
    first = tmp_path / "a.h5"
    run_cli(capsys, "relax", "--dim", "3", "--n", "40", "--fmax", "1e-3", "--out", str(first))
    code, out, _ = run_cli(capsys, "relax", "--init", str(first), "--fmax", "1e-6", "--json")
    assert code == 0 and last_json(out)["n"] == 40 and last_json(out)["converged"]


def test_theory_json(capsys):
    code, out, _ = run_cli(capsys, "theory", "--dim", "5", "--s", "1", "--json")
    result = last_json(out)
    assert code == 0 and result["support"] == "sphere"
    assert round(result["radius"], 5) == 0.73681 and round(result["energy"], 5) == 0.31433
    code, out, _ = run_cli(capsys, "theory", "--dim", "3", "--s", "1", "--json")
    assert last_json(out)["support"] == "ball" and last_json(out)["radius"] == 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--dim", "3", "--n", "1"], "--n must be >= 2"),
     (["--dim", "0", "--n", "10"], "--dim must be >= 1"),
     (["--dim", "3", "--n", "10", "--s", "-2"], "s must be > -2"),
     (["--dim", "3", "--n", "10", "--alpha", "0"], "alpha must be > 0"),
     (["--dim", "3", "--n", "10", "--repulsion", "-1"], "repulsion must be > 0"),
     (["--dim", "3", "--n", "10", "--s", "nan"], "--s must be finite"),
     (["--dim", "3", "--n", "10", "--temperature", "1"], "needs method 'langevin'"),
     (["--dim", "3"], "--dim and --n are required"),
     (["--dim", "3", "--n", "ten"], "--n must be an integer"),
     (["--init", "/nonexistent/file.h5"], "does not exist")])
def test_bad_input_gives_one_line_errors(capsys, argv, message):
    code, out, err = run_cli(capsys, "relax", *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err


def test_nan_in_init_file(capsys, tmp_path):
    path = tmp_path / "bad.h5"
    pts = np.random.default_rng(0).normal(size=(5, 3))
    pts[2, 1] = np.nan
    with TrajectoryWriter(path, n_particles=5, dimension=3) as w:
        w.write(0, pts)
    code, _, err = run_cli(capsys, "relax", "--init", str(path))
    assert code == 2 and "NaN" in err and str(path) in err and len(err.strip().splitlines()) == 1


def test_existing_out_is_kept_without_overwrite(capsys, tmp_path):
    path = tmp_path / "a.h5"
    path.write_bytes(b"precious")
    code, _, err = run_cli(capsys, "relax", "--dim", "2", "--n", "5", "--out", str(path))
    assert code == 2 and "--overwrite" in err and path.read_bytes() == b"precious"
    code, _, _ = run_cli(capsys, "relax", "--dim", "2", "--n", "5", "--fmax", "1e-3", "--out",
                         str(path), "--overwrite")
    assert code == 0 and h5py.is_hdf5(path)


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "eccentric", "relax", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--fmax" in result.stdout and "--method" in result.stdout


@pytest.mark.parametrize(
    ("argv", "check"),
    [(["--dim", "5", "--n", "400", "--s", "1", "--seed", "0"],
      lambda r: r["converged"] and r["theory"]["support"] == "sphere"
      and abs(r["radius_mean"] / 0.7368063 - 1) < 0.01 and r["radius_cv"] < 0.01),
     (["--dim", "3", "--n", "400", "--s", "1"],
      lambda r: r["converged"] and r["theory"]["support"] == "ball"
      and r["theory"]["radius"] == 1.0 and r["radius_cv"] > 0.1 and r["radius_max"] <= 1.02),
     (["--dim", "2", "--n", "300", "--s", "0"],
      lambda r: r["converged"] and r["theory"]["support"] == "ball"
      and 0.9 < r["radius_max"] <= 1.02 and r["radius_cv"] > 0.3)],
    ids=["sphere-d5", "coulomb-ball-d3", "log-disk-d2"])
def test_issue_acceptance_cases(capsys, argv, check):
    code, out, _ = run_cli(capsys, "relax", *argv, "--json")
    assert code == 0 and check(last_json(out)), last_json(out)


def test_demo_writes_trajectory_and_figures(capsys, tmp_path, monkeypatch):
    import eccentric.cli as cli

    monkeypatch.setattr(cli, "DEMO_CLOUD", (300, 8))  # the full demo is 2,000 points
    monkeypatch.setattr(cli, "DEMO_EPOCHS", 1)
    code, out, _ = run_cli(capsys, "demo", "--out-dir", str(tmp_path), "--json")
    summary = last_json(out)
    assert code == 0 and summary["relax"]["converged"]
    assert summary["relax"]["theory"]["support"] == "sphere"
    for name in ("relax.png", "reconstructions.png", "traversal.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert read_trajectory(tmp_path / "relax.h5").positions.shape[1:] == (300, 8)
    assert read_trajectory(tmp_path / "autoencoder" / "trajectory.h5").group == "latent"
    assert summary["autoencoder"]["test_mse"] < summary["autoencoder"]["untrained_test_mse"]


def test_train_json(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "train", "--data", "digits", "--latent-dim", "4", "--epochs",
                           "1", "--batch-size", "64", "--out", str(tmp_path / "r"), "--json")
    metrics = last_json(out)
    assert code == 0 and metrics["test_mse"] < metrics["untrained_test_mse"]
    assert len(metrics["covariance_eigenvalues"]) == 4 and "radius_cv" in metrics


@pytest.mark.parametrize("case", ["corrupt-idx", "missing-dir", "resume-other-latent",
                                  "missing-idx-dir", "conv-on-8x8", "existing-run"])
def test_train_errors_are_one_line(capsys, tmp_path, case):
    from tests.autoencoder.test_data import make_idx_dir

    run = tmp_path / "run"
    argv = ["train", "--epochs", "1", "--out", str(run)]
    if case == "corrupt-idx":
        make_idx_dir(tmp_path)
        (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
        argv += ["--data", "idx", "--data-dir", str(tmp_path)]
        message = "header"
    elif case == "missing-dir":
        argv += ["--data", "fashion-mnist", "--data-dir", str(tmp_path / "nowhere")]
        message = "does not exist"
    elif case == "missing-idx-dir":
        argv += ["--data", "idx"]
        message = "--data-dir"
    elif case == "conv-on-8x8":
        argv += ["--data", "digits", "--model", "conv"]
        message = "use --model mlp"
    else:
        assert run_cli(capsys, "train", "--data", "digits", "--epochs", "1", "--out",
                       str(run))[0] == 0
        argv += ["--data", "digits"]
        if case == "resume-other-latent":
            argv += ["--latent-dim", "8", "--resume"]
            message = "latent_dim 16 but --latent-dim is 8"
        else:
            message = "already holds a run"
    code, _, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], err


def test_relax_random_batch_method(capsys):
    code, out, _ = run_cli(capsys, "relax", "--dim", "3", "--n", "64", "--method", "rbm",
                           "--batch-size", "16", "--steps", "200", "--json")
    assert code == 0
    summary = last_json(out)
    assert summary["method"] == "rbm" and summary["steps"] == 200
    assert summary["reason"].startswith(("converged", "not converged: ran 200 random-batch"))
    for extra in (["--method", "rbm"], ["--batch-size", "8"]):
        code, _, err = run_cli(capsys, "relax", "--dim", "3", "--n", "64", *extra)
        assert code == 2 and "--batch-size goes with --method rbm" in err
        assert len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "relax", "--dim", "3", "--n", "64", "--method", "rbm",
                           "--batch-size", "65")
    assert code == 2 and "batch_size, an integer in [2, N = 64], got 65" in err
