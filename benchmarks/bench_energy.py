"""Energy + forces: the Numba kernel against the naive NumPy broadcasting transcription.

Side by side in one run, median of repeats after a JIT warm-up. Prints a table and, with
--json, one JSON object as the last line. Usage:

    python benchmarks/bench_energy.py [--n 4096] [--dim 16] [--repeats 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics

import numba
import numpy as np

from particles import EnergyParams, energy_and_forces
from particles.reference import reference_energy_and_forces

from timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--s", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--numpy-repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    params = EnergyParams(s=args.s)
    Z = np.random.default_rng(0).normal(size=(args.n, args.dim))
    energy_and_forces(Z[:8], params)  # JIT warm-up (or cache load)
    e_ours, f_ours = energy_and_forces(Z, params)
    e_ref, f_ref = reference_energy_and_forces(Z, params)
    agreement = float(np.abs(f_ours - f_ref).max() / np.abs(f_ref).max())

    # interleaved rounds, so both see the same machine state; medians over the rounds
    ours, naive = [], []
    for _ in range(args.numpy_repeats):
        ours.append(median_seconds(lambda: energy_and_forces(Z, params), args.repeats))
        naive.append(median_seconds(lambda: reference_energy_and_forces(Z, params), 1))
    t_ours, t_numpy = statistics.median(ours), statistics.median(naive)
    pairs = args.n * (args.n - 1) / 2
    result = {
        "n": args.n, "dim": args.dim, "s": args.s, "dtype": "float64",
        "threads": numba.get_num_threads(), "cpus": os.cpu_count(),
        "machine": f"{platform.processor() or platform.machine()} ({platform.system()})",
        "numba_s": t_ours, "numpy_s": t_numpy, "speedup": t_numpy / t_ours,
        "numba_pairs_per_s": pairs / t_ours, "numpy_pairs_per_s": pairs / t_numpy,
        "energy_rel_diff": abs(e_ours - e_ref) / abs(e_ref), "force_rel_diff": agreement,
        "speedup_per_round": [b / a for a, b in zip(ours, naive, strict=True)],
    }
    print(f"energy+forces, N = {args.n}, d = {args.dim}, s = {args.s}, float64, "
          f"{result['threads']} threads, {args.numpy_repeats} interleaved rounds (ours: median "
          f"of {args.repeats} per round)")
    print(f"  speedup per round: {', '.join(f'{b / a:.0f}x' for a, b in zip(ours, naive, strict=True))}")
    print(f"  numba (ours)     {t_ours * 1e3:10.2f} ms   {pairs / t_ours:.3e} pairs/s")
    print(f"  numpy broadcast  {t_numpy * 1e3:10.2f} ms   {pairs / t_numpy:.3e} pairs/s")
    print(f"  speedup          {result['speedup']:10.1f} x   (forces agree to {agreement:.1e})")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
