"""``eccentric bench``: energy+forces throughput of the engine against its peers and the machine.

Work unit: one *ordered pair evaluation*; an evaluation of N points does N (N - 1) of them,
whatever the implementation (the engine evaluates each unordered pair once, so it does half
the arithmetic a peer that visits every ordered pair does). ``pairs_per_s = N (N-1) / t``
with t the median wall time of one energy+forces evaluation after a warm-up.

Flop count (engine): per unordered pair ``7 d`` flops, d subtractions and d fused
multiply-adds (2 flops each) for r^2, then d subtractions, d products and 2 d accumulations
for the two force rows; psi (a sqrt and a division for s = 1) is not counted. The roof is a
measured float64 matrix product (all threads): ``roof_pct = achieved / roof``.

Every peer is checked against the engine (relative energy and force differences in each row)
before it is timed; a peer that cannot run says why in ``error``.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eccentric.peers import IMPLS, PeerUnavailable, prepare
from particles import EnergyParams, energy_and_forces

__all__ = ["BenchSettings", "QUICK", "FULL", "run_bench", "machine_roof", "peak_memory",
           "regularizer_cost", "summary", "write_report", "median_seconds", "flops_per_pair"]


@dataclass(frozen=True)
class BenchSettings:
    """The grid of one benchmark run."""

    sizes: tuple[int, ...]
    dims: tuple[int, ...] = (3, 16, 64)
    dtypes: tuple[str, ...] = ("float64", "float32")
    s_values: tuple[float, ...] = (1.0, 0.0)
    impls: tuple[str, ...] = IMPLS
    repeats: int = 5
    max_seconds: float = 15.0  # skip a peer whose predicted single evaluation exceeds this
    memory_limit: float = 0.5  # fraction of physical memory a peer may use
    memory_sizes: tuple[int, ...] = (4096, 16384, 65536)
    regularizer_batches: tuple[int, ...] = (256, 1024, 4096)
    relax_cases: tuple[tuple[int, int, float], ...] = ((400, 5, 1.0), (1000, 3, 1.0),
                                                       (800, 8, 2.0), (500, 2, 0.0))
    rbm_case: tuple[int, int, int, int] | None = (4096, 5, 256, 2000)  # N, d, batch, steps
    timing_budget: float = 3.0  # seconds of timed repeats per measurement (see median_seconds)


SETTLE_SECONDS = 0.25  # idle time before each timed series (OpenMP/Eigen pools spin on idle)

QUICK = BenchSettings(sizes=(1024, 4096), repeats=5, rbm_case=(1024, 5, 128, 1500))
FULL = BenchSettings(sizes=(1024, 4096, 16384, 65536), repeats=5, max_seconds=20.0)


def flops_per_pair(dim: int) -> int:
    """Flops of the engine per unordered pair (module docstring)."""
    return 7 * dim


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 0,
                   budget: float = float("inf")) -> float:
    """Median wall time of up to ``repeats`` calls of fn after ``warmup`` untimed calls. Stops
    early once ``budget`` seconds are spent and 3 calls are timed (1 if the first alone took
    longer than the budget)."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats and not (times and spent >= budget
                                           and (len(times) >= 3 or times[0] > budget)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return statistics.median(times)


@contextmanager
def _threads(impl: str, count: int) -> Iterator[None]:
    """Numba threads for the engine; BLAS and torch pinned so no spin-waiting pool steals
    the cores from another library's threads."""
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    torch_before = None
    if impl in ("torch", "torch-er", "keops"):
        import torch

        torch_before = torch.get_num_threads()
        torch.set_num_threads(count)
    numba.set_num_threads(count if impl == "numba" else before)
    try:
        with threadpool_limits(limits=count if impl in ("torch", "torch-er") else 1):
            yield
    finally:
        numba.set_num_threads(before)
        if torch_before is not None:
            import torch

            torch.set_num_threads(torch_before)


def _threads_of(impl: str, cpus: int) -> list[int]:
    if impl == "numba":
        return sorted({1, cpus})
    if impl == "numpy":
        return [1]  # elementwise broadcasting runs on one core
    return [cpus]


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def run_bench(settings: BenchSettings, progress: Callable[[dict[str, Any]], None] | None = None
              ) -> dict[str, Any]:
    """All measurements of ``settings``: rows (one per impl, N, d, dtype, s, threads), the
    machine roof, the engine's peak memory per N and the torch regularizer's cost."""
    import numba

    cpus = numba.config.NUMBA_NUM_THREADS
    memory_limit = settings.memory_limit * _physical_memory()
    roof = machine_roof()
    rows: list[dict[str, Any]] = []
    last_time: dict[tuple, tuple[int, float]] = {}  # (impl, d, dtype, s, threads) -> (N, t)
    references: dict[tuple, tuple[float, np.ndarray]] = {}  # float64 engine, per config
    # one implementation at a time over the whole grid (the engine first, before any peer has
    # started its thread pools): a library's idle workers cannot disturb another's timings
    for impl in settings.impls:
        for n in settings.sizes:
            for dim in settings.dims:
                for dtype in settings.dtypes:
                    Z = np.random.default_rng(n + dim).normal(size=(n, dim)).astype(dtype)
                    for s in settings.s_values:
                        params = EnergyParams(s=s)

                        def exact(Z=Z, params=params, config=(n, dim, dtype, s)):
                            if config not in references:
                                references[config] = energy_and_forces(Z.astype(np.float64), params)
                            return references[config]
                        for threads in _threads_of(impl, cpus):
                            row = {"impl": impl, "n": n, "dim": dim, "dtype": dtype, "s": s,
                                   "threads": threads, "seconds": None, "pairs_per_s": None,
                                   "gflops": None, "roof_pct": None, "energy_rel_err": None,
                                   "force_rel_err": None, "error": None}
                            key = (impl, dim, dtype, s, threads)
                            _measure(row, Z, params, exact, settings, memory_limit,
                                     last_time.get(key))
                            if row["seconds"] is not None:
                                last_time[key] = (n, row["seconds"])
                                if impl == "numba":
                                    gflops = n * (n - 1) / 2 * flops_per_pair(dim) / row["seconds"] / 1e9
                                    row["gflops"] = gflops
                                    row["roof_pct"] = 100 * gflops / roof["float64_gflops"]
                            rows.append(row)
                            if progress is not None:
                                progress(row)
    references.clear()
    result = {
        "machine": machine_description(), "settings": asdict(settings),
        "roof_gflops": roof["float64_gflops"], "roof": roof,
        "flops_per_pair": "7 d per unordered pair (see eccentric.bench)",
        "rows": rows,
        "memory": peak_memory(settings.memory_sizes),
        "regularizer": regularizer_cost(settings.regularizer_batches, settings.repeats),
        "relaxation": relaxation_cost(settings.relax_cases),
        "random_batch": None if settings.rbm_case is None else random_batch_check(*settings.rbm_case),
    }
    result["summary"] = summary(result)
    return result


def _measure(row: dict[str, Any], Z: np.ndarray, params: EnergyParams,
             exact: Callable[[], tuple[float, np.ndarray]], settings: BenchSettings,
             memory_limit: float, previous: tuple[int, float] | None) -> None:
    n = Z.shape[0]
    impl, threads = row["impl"], row["threads"]
    if previous is not None:
        predicted = previous[1] * (n / previous[0]) ** 2
        if predicted > settings.max_seconds:
            row["error"] = (f"skipped: predicted {predicted:.0f} s per evaluation from N = "
                            f"{previous[0]} exceeds {settings.max_seconds:g} s")
            return
    try:
        with _threads(impl, threads):
            evaluate = prepare(impl, Z, params, memory_limit)
            e, f = evaluate()  # warm-up: JIT compilation, caches; also the accuracy check
            e_ref, f_ref = exact()
            row["energy_rel_err"] = _relative(e, e_ref)
            row["force_rel_err"] = float(np.abs(np.asarray(f, dtype=np.float64) - f_ref).max()
                                         / np.abs(f_ref).max())
            gc.collect()
            time.sleep(SETTLE_SECONDS)  # let the previous library's worker threads stop spinning
            row["seconds"] = median_seconds(evaluate, settings.repeats,
                                            budget=settings.timing_budget)
    except PeerUnavailable as exc:
        row["error"] = str(exc)
        return
    except (MemoryError, RuntimeError) as exc:
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return
    row["pairs_per_s"] = n * (n - 1) / row["seconds"]


def _physical_memory() -> float:
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def machine_description() -> dict[str, Any]:
    """CPU model, core count and library versions of this run."""
    import numba

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "numba": numba.__version__}
    for name in ("torch", "pykeops", "jax"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:
            versions[name] = None
    return {"cpu": model, "cpus": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "memory_gib": round(_physical_memory() / 2**30, 1), "system": platform.system(),
            "versions": versions}


def machine_roof(size: int = 2048, repeats: int = 5) -> dict[str, float]:
    """Measured float64 and float32 matrix-product rates (all threads, GFLOP/s): the roof."""
    import numba
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    roof = {}
    with threadpool_limits(limits=numba.config.NUMBA_NUM_THREADS):
        for dtype in ("float64", "float32"):
            a = rng.normal(size=(size, size)).astype(dtype)
            b = rng.normal(size=(size, size)).astype(dtype)
            t = median_seconds(lambda a=a, b=b: a @ b, repeats, warmup=1)
            roof[f"{dtype}_gflops"] = 2 * size ** 3 / t / 1e9
    roof["method"] = f"median of {repeats} NumPy/BLAS {size}x{size} matrix products"
    return roof


_MEMORY_PROBE = """
import sys
import numpy as np
from particles import energy_and_forces
assert "h5py" not in sys.modules and "scipy.optimize" not in sys.modules

def status(key):  # kB, from the kernel's own accounting of this process
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])

energy_and_forces(np.random.default_rng(0).normal(size=(64, {d})))  # compile / load cache
Z = np.random.default_rng(0).normal(size=({n}, {d}))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current resident size
base = status("VmRSS:")
energy_and_forces(Z)
print(base, status("VmHWM:"))
"""


def peak_memory(sizes: tuple[int, ...], dim: int = 16) -> list[dict[str, Any]]:
    """Peak resident memory of one engine evaluation per N, each in a fresh process (d = 16,
    float64, all threads): the process's peak and its increase over the state just before
    the call (Python, NumPy, Numba and the points already loaded). Linux only (/proc)."""
    out = []
    for n in sizes:
        proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE.format(n=n, d=dim)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            out.append({"n": n, "dim": dim, "error": lines[-1] if lines else "probe failed"})
            continue
        base_kb, peak_kb = (int(v) for v in proc.stdout.split())
        out.append({"n": n, "dim": dim, "peak_rss_mb": peak_kb / 1024,
                    "increase_mb": (peak_kb - base_kb) / 1024,
                    "points_mb": n * dim * 8 / 2**20, "error": None})
    return out


def regularizer_cost(batches: tuple[int, ...], repeats: int) -> dict[str, Any]:
    """Forward+backward time of the torch EccentricRegularizer (d = 16, float32) per batch
    size, and its share of one conv-autoencoder training step on a Fashion-MNIST batch of 256
    (random images of the same shape if the dataset is not installed; said in ``images``)."""
    try:
        import torch

        from autoencoder import EccentricRegularizer
        from autoencoder.data import DataError, load_dataset
        from autoencoder.models import ConvAutoencoder
    except ImportError as exc:
        return {"error": f"torch not installed ({exc})"}
    torch.manual_seed(0)
    reg = EccentricRegularizer(EnergyParams(s=1.0))
    forward_backward = []
    for b in batches:
        z = torch.randn(b, 16, requires_grad=True)

        def step(z=z):
            z.grad = None
            reg(z).backward()

        forward_backward.append({"batch": b, "dim": 16,
                                 "seconds": median_seconds(step, max(repeats, 10), warmup=2,
                                                           budget=5.0)})
    try:
        images = load_dataset("fashion-mnist").train[0][:256]
        source = "fashion-mnist"
    except DataError as exc:
        images = torch.rand(256, 1, 28, 28)
        source = f"random 1x28x28 (fashion-mnist unavailable: {exc})"
    model = ConvAutoencoder(latent_dim=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step(with_er: bool) -> None:
        recon, z = model(images)
        loss = ((recon - images) ** 2).mean()
        if with_er:
            loss = loss + 0.1 * reg(z)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    plain, regularized = [], []
    for _ in range(max(repeats, 10) + 1):  # interleaved: both see the same machine state
        plain.append(median_seconds(lambda: train_step(False), 1))
        regularized.append(median_seconds(lambda: train_step(True), 1))
    t_plain, t_er = statistics.median(plain[1:]), statistics.median(regularized[1:])
    return {"forward_backward": forward_backward, "images": source,
            "conv_step_s": t_plain, "conv_step_with_er_s": t_er,
            "er_share": (t_er - t_plain) / t_plain, "threads": torch.get_num_threads(),
            "error": None}


def relaxation_cost(cases: tuple[tuple[int, int, float], ...]) -> list[dict[str, Any]]:
    """Force evaluations and wall time of FIRE and L-BFGS from the same Gaussian start to the
    default fmax, per (N, d, s) case (s = 1 sphere, d = 3 ball, s = 2 threshold, d = 2 log)."""
    from particles import DEFAULT_FMAX, random_cloud, relax

    out = []
    for n, dim, s in cases:
        params = EnergyParams(s=s)
        start = random_cloud(n, dim, params, seed=0)
        for method in ("fire", "lbfgs"):
            r = relax(start, params, method=method, fmax=DEFAULT_FMAX, steps=200_000)
            out.append({"n": n, "dim": dim, "s": s, "method": method, "fmax": DEFAULT_FMAX,
                        "evaluations": r.n_evaluations, "steps": r.steps, "seconds": r.wall_time,
                        "energy": r.energy, "converged": r.converged})
    return out


def random_batch_check(n: int, dim: int, batch_size: int, steps: int) -> dict[str, Any]:
    """Random-batch relaxation ("rbm") against the full L-BFGS relaxation from the same start
    (d-dimensional sphere case, s = 1): relative differences of mean radius and exact energy,
    and the work of each in pair evaluations."""
    from particles import DEFAULT_FMAX, random_cloud, relax

    params = EnergyParams(s=1.0)
    start = random_cloud(n, dim, params, seed=1)
    full = relax(start, params, method="lbfgs", fmax=DEFAULT_FMAX, steps=100_000)
    rbm = relax(start, params, method="rbm", batch_size=batch_size, steps=steps, seed=2)
    radius = float(np.linalg.norm(rbm.positions, axis=1).mean())
    radius_full = float(np.linalg.norm(full.positions, axis=1).mean())
    pairs = n * (n - 1) / 2
    return {"n": n, "dim": dim, "s": 1.0, "batch_size": batch_size, "steps": steps,
            "radius_rel_diff": radius / radius_full - 1.0,
            "energy_rel_diff": rbm.energy / full.energy - 1.0,
            "radius_cv": float(np.linalg.norm(rbm.positions, axis=1).std() / radius),
            "rbm_seconds": rbm.wall_time, "full_seconds": full.wall_time,
            "full_converged": full.converged,
            "rbm_pair_evaluations": (steps + 1) * n * (batch_size - 1) / 2 + 2 * pairs,
            "full_pair_evaluations": full.n_evaluations * pairs}


def format_row(row: dict[str, Any]) -> str:
    """One human-readable line of a measurement."""
    head = (f"{row['impl']:9s} N={row['n']:6d} d={row['dim']:3d} {row['dtype']} s={row['s']:g} "
            f"threads={row['threads']}")
    if row["error"]:
        return f"{head}  -- {row['error']}"
    extra = f"  {row['gflops']:.1f} GFLOP/s ({row['roof_pct']:.0f}% roof)" if row["gflops"] else ""
    return (f"{head}  {row['seconds'] * 1e3:10.2f} ms  {row['pairs_per_s']:.3e} pairs/s  "
            f"force err {row['force_rel_err']:.1e}{extra}")


def _table(result: dict[str, Any]) -> list[str]:
    impls = [i for i in IMPLS if any(r["impl"] == i for r in result["rows"])]
    columns = []
    for impl in impls:
        for threads in sorted({r["threads"] for r in result["rows"] if r["impl"] == impl}):
            columns.append((impl, threads))
    header = "| N | d | dtype | s | " + " | ".join(f"{i} ({t}T)" for i, t in columns) + " |"
    lines = [header, "|" + "---|" * (4 + len(columns))]
    keys = sorted({(r["n"], r["dim"], r["dtype"], r["s"]) for r in result["rows"]},
                  key=lambda k: (k[0], k[1], k[2] != "float64", -k[3]))
    index = {(r["n"], r["dim"], r["dtype"], r["s"], r["impl"], r["threads"]): r
             for r in result["rows"]}
    for key in keys:
        cells = []
        for impl, threads in columns:
            row = index.get((*key, impl, threads))
            if row is None:
                cells.append("")
            elif row["error"]:
                cells.append("n/a")
            else:
                cells.append(f"{row['pairs_per_s']:.2e}")
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]:g} | " + " | ".join(cells) + " |")
    return lines


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's headline ratios at N = 4096, d = 16, float64, s = 1 and the roof fraction
    at N = 16384 (None where a row is missing)."""
    def rate(impl: str, threads: int | None = None, n: int = 4096) -> dict[str, Any] | None:
        """The measured row of impl at (n, 16, float64, s = 1); most threads unless given."""
        rows = [r for r in result["rows"] if r["pairs_per_s"]
                and (r["impl"], r["n"], r["dim"], r["dtype"], r["s"]) == (impl, n, 16, "float64", 1.0)
                and threads in (None, r["threads"])]
        return max(rows, key=lambda r: r["threads"]) if rows else None

    ours = rate("numba")
    out: dict[str, Any] = {}
    if ours:
        for peer in ("numpy", "torch", "torch-er", "keops", "jax"):
            other = rate(peer)
            out[f"vs_{peer}"] = ours["pairs_per_s"] / other["pairs_per_s"] if other else None
        one = rate("numba", threads=1)
        out["threads_speedup"] = ours["pairs_per_s"] / one["pairs_per_s"] if one else None
    big = rate("numba", n=16384)
    out["roof_pct_16384"] = big["roof_pct"] if big else None
    return out


def write_report(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """bench.json (everything) and bench.md (machine, headline ratios, throughput table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    m = result["machine"]
    lines = [
        "# eccentric bench", "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".",
        f"Roof: {result['roof']['float64_gflops']:.1f} GFLOP/s float64, "
        f"{result['roof']['float32_gflops']:.1f} float32 ({result['roof']['method']}).", "",
        "Ordered pair evaluations per second (energy + forces, median after warm-up; "
        "higher is better; n/a: see bench.json `error`).", "",
        *_table(result), "",
        "## Headline (N = 4096, d = 16, float64, s = 1)", "",
    ]
    for key, value in result["summary"].items():
        lines.append(f"- {key}: {'n/a' if value is None else f'{value:.2f}'}")
    lines += ["", "## Engine peak memory (d = 16, float64, fresh process)", "",
              "| N | peak RSS (MB) | increase over baseline (MB) | points (MB) |", "|---|---|---|---|"]
    for row in result["memory"]:
        if row.get("error"):
            lines.append(f"| {row['n']} | error: {row['error']} | | |")
        else:
            lines.append(f"| {row['n']} | {row['peak_rss_mb']:.0f} | {row['increase_mb']:.1f} | "
                         f"{row['points_mb']:.1f} |")
    reg = result["regularizer"]
    if reg.get("error") is None:
        lines += ["", "## Torch regularizer (d = 16, float32)", ""]
        for row in reg["forward_backward"]:
            lines.append(f"- forward+backward B = {row['batch']}: {row['seconds'] * 1e3:.2f} ms")
        lines.append(f"- conv autoencoder step B = 256 ({reg['images']}): "
                     f"{reg['conv_step_s'] * 1e3:.1f} ms plain, {reg['conv_step_with_er_s'] * 1e3:.1f} "
                     f"ms with ER ({100 * reg['er_share']:+.1f}%)")
    lines += ["", "## Relaxation to the default fmax from a Gaussian start (force evaluations)", "",
              "| N | d | s | FIRE evals | L-BFGS evals | FIRE s | L-BFGS s |",
              "|---|---|---|---|---|---|---|"]
    runs = {(r["n"], r["dim"], r["s"], r["method"]): r for r in result["relaxation"]}
    for n, dim, s in sorted({(r["n"], r["dim"], r["s"]) for r in result["relaxation"]}):
        f, lb = runs[(n, dim, s, "fire")], runs[(n, dim, s, "lbfgs")]
        lines.append(f"| {n} | {dim} | {s:g} | {f['evaluations']} | {lb['evaluations']} | "
                     f"{f['seconds']:.1f} | {lb['seconds']:.1f} |")
    rb = result.get("random_batch")
    if rb:
        lines += ["", f"Random batches (N = {rb['n']}, d = {rb['dim']}, s = 1, p = {rb['batch_size']}, "
                  f"{rb['steps']} steps) vs full L-BFGS: mean radius {100 * rb['radius_rel_diff']:+.3f}%, "
                  f"energy {100 * rb['energy_rel_diff']:+.3f}%, {rb['rbm_seconds']:.1f} s vs "
                  f"{rb['full_seconds']:.1f} s ({rb['rbm_pair_evaluations']:.2e} vs "
                  f"{rb['full_pair_evaluations']:.2e} pair evaluations)."]
    missing: dict[tuple[str, str], int] = {}
    for r in result["rows"]:
        if r["error"]:
            reason = ("predicted time per evaluation over the limit" if r["error"].startswith("skipped")
                      else "memory over the limit" if r["error"].startswith("needs ~")
                      else r["error"])
            missing[(r["impl"], reason)] = missing.get((r["impl"], reason), 0) + 1
    if missing:
        lines += ["", "## Not measured (each row's reason is in bench.json)", ""]
        lines += [f"- {impl}: {count} row{'s' if count > 1 else ''}, {reason}"
                  for (impl, reason), count in sorted(missing.items())]
    md = out_dir / "bench.md"
    js = out_dir / "bench.json"
    for path, text in ((md, "\n".join(lines) + "\n"), (js, json.dumps(result, indent=1) + "\n")):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return js, md
