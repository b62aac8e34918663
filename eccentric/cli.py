"""The ``eccentric`` command line: the one module that imports particles, analysis and
autoencoder. Every subcommand has ``--json`` (last stdout line is one JSON object) and
exits non-zero with a one-line message on bad input."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "build_parser"]


DEMO_CLOUD = (2000, 8)  # (N, d) relaxed by `eccentric demo`
DEMO_EPOCHS = 30  # autoencoder epochs of `eccentric demo`


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(name: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {value}")
        return value
    return parse


def _finite_float(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{name} must be finite, got {text}")
        return value
    return parse


def _int_list(name: str, minimum: int):
    item = _positive_int(name, minimum)

    def parse(text: str) -> tuple[int, ...]:
        return tuple(item(part) for part in text.split(","))
    return parse


def _float_list(name: str):
    item = _finite_float(name)

    def parse(text: str) -> tuple[float, ...]:
        return tuple(item(part) for part in text.split(","))
    return parse


def _add_energy_args(p: argparse.ArgumentParser, s_required: bool = True) -> None:
    p.add_argument("--s", type=_finite_float("--s"), required=s_required, default=1.0,
                   help="repulsion exponent s > -2 (1: Thomson, 0: log, < 0: bounded)")
    p.add_argument("--alpha", type=_finite_float("--alpha"), default=2.0,
                   help="attraction exponent alpha > 0 (default 2)")
    p.add_argument("--repulsion", type=_finite_float("--repulsion"), default=1.0,
                   help="repulsion weight lambda > 0 (default 1)")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    from eccentric.peers import IMPLS
    from particles import DEFAULT_FMAX
    from particles.minimize import METHODS

    parser = _Parser(prog="eccentric", description=(
        "Eccentric Regularization: relax point clouds under the ER energy, compare them "
        "with exact equilibrium theory, train regularized autoencoders."))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("relax", help="relax a point cloud under the ER energy")
    p.add_argument("--dim", type=_positive_int("--dim", 1), help="dimension d >= 1")
    p.add_argument("--n", type=_positive_int("--n", 2), help="number of points N >= 2")
    _add_energy_args(p, s_required=False)
    p.add_argument("--softening", type=_finite_float("--softening"), default=0.0,
                   help="softening eps >= 0 added in quadrature to pair distances")
    p.add_argument("--method", choices=METHODS, default="lbfgs",
                   help="minimizer (default lbfgs; fire for --fmax below 1e-7), overdamped "
                        "langevin, or rbm: langevin with random-batch forces (needs --batch-size)")
    p.add_argument("--batch-size", type=_positive_int("--batch-size", 2), default=None,
                   help="points per random batch for --method rbm (cost per step O(N p d))")
    p.add_argument("--temperature", type=_finite_float("--temperature"), default=0.0,
                   help="temperature for --method langevin or rbm (default 0)")
    p.add_argument("--dt", type=_finite_float("--dt"), default=None,
                   help="time step for --method langevin (default 0.01) or rbm (default 0.1)")
    p.add_argument("--steps", type=_positive_int("--steps", 0), default=100_000,
                   help="maximum number of steps (default 100000)")
    p.add_argument("--fmax", type=_finite_float("--fmax"), default=DEFAULT_FMAX,
                   help=f"stop when max_i |N dE/dz_i| < fmax (default {DEFAULT_FMAX:g})")
    p.add_argument("--seed", type=_positive_int("--seed", 0), default=0,
                   help="random seed of the initial cloud and Langevin noise")
    p.add_argument("--init", default="gaussian",
                   help="'gaussian' (default) or an H5MD file whose last frame is the start")
    p.add_argument("--every", type=_positive_int("--every", 0), default=0,
                   help="write a trajectory frame every K steps (0: first and last only)")
    p.add_argument("--out", type=Path, default=None, help="H5MD trajectory file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    _add_common(p)

    p = sub.add_parser("theory", help="predicted equilibrium support, radius and energy")
    p.add_argument("--dim", type=_positive_int("--dim", 1), required=True, help="dimension d")
    _add_energy_args(p)
    _add_common(p)

    p = sub.add_parser("validate", help="check relaxations against the exact theory")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small grid (default; minutes)")
    size.add_argument("--full", action="store_true", help="large N (tens of minutes)")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    _add_common(p)

    p = sub.add_parser("train", help="train an ER-regularized autoencoder")
    p.add_argument("--data", default="mnist-sample",
                   help="mnist-sample (default), digits, fashion-mnist, or idx (with --data-dir)")
    p.add_argument("--data-dir", default=None, help="folder of MNIST-style IDX files")
    p.add_argument("--model", default="mlp", help="mlp (default) or conv (1x28x28 only)")
    p.add_argument("--latent-dim", type=_positive_int("--latent-dim", 1), default=16)
    p.add_argument("--reg", default="er", help="er (default) or none")
    p.add_argument("--weight", type=_finite_float("--weight"), default=1.0,
                   help="weight beta of the ER energy in the loss (default 1)")
    _add_energy_args(p, s_required=False)
    p.add_argument("--epochs", type=_positive_int("--epochs", 0), default=10)
    p.add_argument("--batch-size", type=_positive_int("--batch-size", 2), default=256)
    p.add_argument("--lr", type=_finite_float("--lr"), default=1e-3)
    p.add_argument("--seed", type=_positive_int("--seed", 0), default=0)
    p.add_argument("--out", type=Path, required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/model.pt")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    _add_common(p)

    p = sub.add_parser("bench", help="energy+forces throughput against NumPy, PyTorch, KeOps, "
                                     "JAX and the machine's roof")
    p.add_argument("--quick", action="store_true", help="N in {1024, 4096} only (minutes)")
    p.add_argument("--sizes", type=_int_list("--sizes", 2), default=None,
                   help="comma-separated N (default 1024,4096,16384,65536; --quick: 1024,4096)")
    p.add_argument("--dims", type=_int_list("--dims", 1), default=None,
                   help="comma-separated d (default 3,16,64)")
    p.add_argument("--dtypes", default="float64,float32", help="float64,float32 (default both)")
    p.add_argument("--s-values", type=_float_list("--s-values"), default=None,
                   help="comma-separated s (default 1,0)")
    p.add_argument("--impls", default=",".join(IMPLS),
                   help=f"comma-separated implementations (default {','.join(IMPLS)})")
    p.add_argument("--repeats", type=_positive_int("--repeats", 1), default=5,
                   help="timed evaluations per measurement, median reported (default 5)")
    p.add_argument("--max-seconds", type=_finite_float("--max-seconds"), default=None,
                   help="skip a measurement predicted (from the previous N) to take longer per "
                        "evaluation (default 20; --quick: 15)")
    p.add_argument("--out", type=Path, default=Path("results/bench"),
                   help="folder for bench.json and bench.md (default results/bench)")
    _add_common(p)

    p = sub.add_parser("demo", help="relax 2,000 points in 8-D, train a small ER autoencoder, "
                                    "write results/")
    p.add_argument("--out-dir", type=Path, default=Path("results"), help="output folder")
    _add_common(p)
    return parser


def _emit(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(payload, allow_nan=False))
    else:
        print("\n".join(lines))


def _progress(total: int, quiet: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=quiet or not sys.stderr.isatty(),
                file=sys.stderr, leave=False)


def _relaxation(points: np.ndarray, params, args: argparse.Namespace, out: Path | None,
                metadata: dict[str, Any]):
    from particles import relax
    from particles.energy import largest_row_norm

    bar = _progress(args.steps, args.quiet, "relax")
    last = {"step": 0}

    def update(step: int, x: np.ndarray, e: float, f: np.ndarray) -> None:
        if step - last["step"] >= 10 or step == 0:
            bar.update(step - last["step"])
            last["step"] = step
            bar.set_postfix(E=f"{e:.8g}", fmax=f"{largest_row_norm(f):.2e}",
                            refresh=False)
    try:
        return relax(points, params, method=args.method, fmax=args.fmax, steps=args.steps,
                     temperature=args.temperature, dt=args.dt, seed=args.seed,
                     every=args.every, out=out, overwrite=args.overwrite, metadata=metadata,
                     observers=(update,), batch_size=args.batch_size)
    finally:
        bar.close()


def _relax_summary(result, dim: int) -> dict[str, Any]:
    from analysis.metrics import radial_summary
    from analysis.theory import predict

    p = result.params
    theory = predict(dim, p.s, p.repulsion, p.alpha)
    return {
        "n": int(result.positions.shape[0]), "dim": dim, "s": p.s, "alpha": p.alpha,
        "repulsion": p.repulsion, "softening": p.softening, "method": result.method,
        "steps": result.steps, "n_evaluations": result.n_evaluations,
        "converged": result.converged, "reason": result.reason,
        "max_force": result.max_force, "fmax": result.fmax, "energy": result.energy,
        **radial_summary(result.positions),
        "theory": {"support": theory.support, "radius": theory.radius,
                   "energy": theory.energy},
        "wall_time_s": result.wall_time, "out": result.out,
    }


def _cmd_relax(args: argparse.Namespace) -> int:
    from particles import EnergyParams, random_cloud, read_last_positions
    from particles.energy import as_points

    params = EnergyParams(s=args.s, alpha=args.alpha, repulsion=args.repulsion,
                          softening=args.softening)
    if (args.method == "rbm") != (args.batch_size is not None):
        raise CommandError("--batch-size goes with --method rbm (points per random batch, 2..N)")
    if args.init == "gaussian":
        if args.dim is None or args.n is None:
            raise CommandError("--dim and --n are required with --init gaussian")
        points = random_cloud(args.n, args.dim, params, seed=args.seed)
    else:
        points = as_points(read_last_positions(args.init), name=f"--init file {args.init}")
        n, dim = points.shape
        if (args.n is not None and args.n != n) or (args.dim is not None and args.dim != dim):
            raise CommandError(f"--init file {args.init} holds N = {n}, d = {dim}, which "
                               f"contradicts --n {args.n} --dim {args.dim}")
    if args.out is not None and args.out.exists() and not args.overwrite:
        raise CommandError(f"--out {args.out} exists; pass --overwrite to replace it")
    metadata = {"seed": args.seed, "init": str(args.init)}
    result = _relaxation(points, params, args, args.out, metadata)
    summary = _relax_summary(result, points.shape[1])
    th = summary["theory"]
    lines = [
        f"{result.reason} after {result.steps} steps ({result.n_evaluations} force "
        f"evaluations, {result.wall_time:.2f} s)",
        f"energy      {result.energy:.10g}" + (f"   (continuum theory {th['energy']:.6g})"
                                                if th["energy"] is not None else ""),
        f"radius      mean {summary['radius_mean']:.6g}  cv {summary['radius_cv']:.3g}  "
        f"min {summary['radius_min']:.6g}  max {summary['radius_max']:.6g}",
        f"theory      support {th['support']}" + (f", radius {th['radius']:.6g}"
                                                   if th["radius"] is not None else ""),
    ]
    if result.out:
        lines.append(f"trajectory  {result.out}")
    _emit(summary, args.json, lines)
    return 0


def _cmd_theory(args: argparse.Namespace) -> int:
    from analysis.theory import predict, sphere_constant
    from particles import EnergyParams

    EnergyParams(s=args.s, alpha=args.alpha, repulsion=args.repulsion)  # validates
    prediction = predict(args.dim, args.s, args.repulsion, args.alpha)
    payload = {"dim": args.dim, "s": args.s, "alpha": args.alpha, "repulsion": args.repulsion,
               **prediction.as_dict()}
    if args.dim >= 2 and args.s < args.dim - 1:
        payload["c"] = sphere_constant(args.s, args.dim)
    lines = [f"support  {prediction.support}  ({prediction.case})"]
    if prediction.radius is not None:
        lines.append(f"radius   {prediction.radius:.6g}")
    if prediction.energy is not None:
        lines.append(f"energy   {prediction.energy:.6g}")
    _emit(payload, args.json, lines)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from analysis.plots import plot_image_grid, plot_radius_histogram
    from analysis.theory import predict
    from autoencoder.data import load_dataset
    from autoencoder.train import TrainConfig, encode, load_model, principal_traversal, train
    from particles import EnergyParams, random_cloud

    out_dir = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    n, dim = DEMO_CLOUD
    params = EnergyParams(s=1.0)
    relax_args = argparse.Namespace(method="lbfgs", fmax=1e-5, steps=20_000, temperature=0.0,
                                    dt=None, seed=0, every=50, overwrite=True, quiet=args.quiet,
                                    batch_size=None)
    result = _relaxation(random_cloud(n, dim, params, seed=0), params, relax_args,
                         out_dir / "relax.h5", {"seed": 0, "init": "gaussian"})
    summary = _relax_summary(result, dim)
    figure = plot_radius_histogram(result.positions, predict(dim, params.s),
                                   out_dir / "relax.png",
                                   title=f"ER relaxation: N = {n}, d = {dim}, s = 1")

    run_dir = out_dir / "autoencoder"
    config = TrainConfig(data="mnist-sample", model="mlp", latent_dim=16, reg="er", weight=0.1,
                         epochs=DEMO_EPOCHS, batch_size=256, lr=1e-3, seed=0)
    data = load_dataset(config.data)
    metrics = train(config, run_dir, overwrite=True, data=data,
                    progress=not args.quiet and sys.stderr.isatty())
    model, _, _ = load_model(run_dir)
    originals = data.test[0][:10]
    with_recon = np.stack([originals[:, 0].numpy(), model(originals)[0][:, 0].detach().numpy()])
    recon_png = plot_image_grid(with_recon, out_dir / "reconstructions.png",
                                title=f"test images and ER-AE reconstructions "
                                      f"(MSE {metrics['test_mse']:.4f})",
                                row_labels=["input", "output"])
    walks, eigenvalues = principal_traversal(model, encode(model, data.test[0]))
    traversal_png = plot_image_grid(
        walks, out_dir / "traversal.png",
        title="decoded walks along the top latent principal components (-2 to +2 sd)",
        row_labels=[f"PC{k + 1} ({v:.3f})" for k, v in enumerate(eigenvalues)])

    payload = {"relax": {**summary, "figure": str(figure)},
               "autoencoder": {**metrics, "figures": [str(recon_png), str(traversal_png)]},
               "demo_wall_time_s": time.perf_counter() - started}
    th = summary["theory"]
    lines = [f"relaxed N = {n} points in d = {dim} (s = 1): {result.reason}",
             f"  radius mean {summary['radius_mean']:.6g} (theory {th['radius']:.6g}), "
             f"cv {summary['radius_cv']:.2e}; energy {result.energy:.8g} "
             f"(continuum {th['energy']:.6g})",
             f"trained an ER autoencoder on mnist-sample ({config.epochs} epochs, weight "
             f"{config.weight}): test MSE {metrics['test_mse']:.4f} (untrained "
             f"{metrics['untrained_test_mse']:.4f}), latent radius cv "
             f"{metrics['radius_cv']:.3f}",
             f"wrote {out_dir}/relax.h5, {figure.name}, autoencoder/, {recon_png.name}, "
             f"{traversal_png.name}"]
    _emit(payload, args.json, lines)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from analysis.validate import run_validation

    mode = "full" if args.full else "quick"

    def progress(name: str) -> None:
        if not args.quiet and not args.json:
            print(f"validate ({mode}): {name} ...", file=sys.stderr)

    report = run_validation(mode, args.out, progress=progress)
    failed = [c for c in report.checks if c.passed is False]
    payload = {"mode": mode, "passed": report.passed, "wall_time_s": report.wall_time_s,
               "checks": [c.as_dict() for c in report.checks], "out": str(args.out),
               "figures": report.figures}
    lines = [f"{'PASSED' if report.passed else 'FAILED'}: "
             f"{sum(c.passed is True for c in report.checks)} checks passed, {len(failed)} "
             f"failed ({report.wall_time_s:.0f} s); report {args.out}/validation.md"]
    lines += [f"  FAIL {c.group}: {c.name}: expected {c.expected}, measured {c.measured}"
              for c in failed]
    _emit(payload, args.json, lines)
    return 0 if report.passed else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from eccentric.bench import FULL, QUICK, format_row, run_bench, write_report
    from eccentric.peers import IMPLS

    impls = tuple(args.impls.split(","))
    unknown = sorted(set(impls) - set(IMPLS))
    if unknown:
        raise CommandError(f"--impls: unknown implementation {unknown[0]!r}; choose from "
                           f"{', '.join(IMPLS)}")
    dtypes = tuple(args.dtypes.split(","))
    if not set(dtypes) <= {"float64", "float32"}:
        raise CommandError(f"--dtypes must be float64 and/or float32, got {args.dtypes!r}")
    if args.max_seconds is not None and args.max_seconds <= 0:
        raise CommandError(f"--max-seconds must be > 0, got {args.max_seconds}")
    for s in args.s_values or ():
        if s <= -2:
            raise CommandError(f"--s-values: s must be > -2, got {s}")
    settings = replace(QUICK if args.quick else FULL, impls=impls, dtypes=dtypes,
                       repeats=args.repeats)
    if args.max_seconds is not None:
        settings = replace(settings, max_seconds=args.max_seconds)
    if args.sizes:
        settings = replace(settings, sizes=args.sizes)
    if args.dims:
        settings = replace(settings, dims=args.dims)
    if args.s_values:
        settings = replace(settings, s_values=args.s_values)
    if args.out.exists() and not args.out.is_dir():
        raise CommandError(f"--out {args.out} exists and is not a folder")

    def progress(row: dict[str, Any]) -> None:
        if not args.quiet and not args.json:
            print(format_row(row), file=sys.stderr, flush=True)

    result = run_bench(settings, progress=progress)
    js, md = write_report(result, args.out)
    head = result["summary"]
    lines = [md.read_text().rstrip(), "", f"wrote {js} and {md}"]
    payload = {"rows": result["rows"], "roof_gflops": result["roof_gflops"],
               "summary": head, "memory": result["memory"],
               "regularizer": result["regularizer"], "relaxation": result["relaxation"],
               "random_batch": result["random_batch"], "machine": result["machine"],
               "out": str(args.out)}
    _emit(payload, args.json, lines)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from autoencoder.train import TrainConfig, train

    if args.resume and args.overwrite:
        raise CommandError("--resume and --overwrite exclude each other")
    config = TrainConfig(data=args.data, data_dir=args.data_dir, model=args.model,
                         latent_dim=args.latent_dim, reg=args.reg, weight=args.weight,
                         s=args.s, alpha=args.alpha, repulsion=args.repulsion,
                         epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         seed=args.seed)

    def report(epoch: int, losses: dict[str, float]) -> None:
        if not args.quiet and not args.json:
            print(f"epoch {epoch:3d}  train {losses['train_total']:.5f} (recon "
                  f"{losses['train_reconstruction']:.5f}, ER {losses['train_regularizer']:.5f})"
                  f"  val recon {losses['val_reconstruction']:.5f}", file=sys.stderr)

    metrics = train(config, args.out, resume=args.resume, overwrite=args.overwrite,
                    progress=not args.quiet and sys.stderr.isatty(), on_epoch_end=report)
    ev = metrics["covariance_eigenvalues"]
    lines = [f"test MSE {metrics['test_mse']:.5f} (untrained {metrics['untrained_test_mse']:.5f});"
             f" ER energy of the probe codes {metrics['regularizer']:.5f}",
             f"probe latents: radius cv {metrics['radius_cv']:.3f}, eccentricity "
             f"{metrics['eccentricity']:.3f}, effective rank {metrics['effective_rank']:.2f}",
             "covariance eigenvalues " + " ".join(f"{v:.3g}" for v in ev),
             f"wrote {args.out}/model.pt, trajectory.h5, metrics.json"]
    _emit(metrics, args.json, lines)
    return 0


_COMMANDS = {"relax": _cmd_relax, "theory": _cmd_theory, "validate": _cmd_validate,
             "train": _cmd_train, "demo": _cmd_demo, "bench": _cmd_bench}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``eccentric`` console script; returns the exit status."""
    from autoencoder.data import DataError
    from autoencoder.train import TrainingError
    from particles import RelaxationError, TrajectoryError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (CommandError, ValueError, TypeError, FileExistsError, FileNotFoundError,
            IsADirectoryError, PermissionError, TrajectoryError, RelaxationError,
            DataError, TrainingError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"eccentric {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"eccentric {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
