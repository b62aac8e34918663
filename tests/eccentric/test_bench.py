"""The benchmark harness: rows, skips with reasons, memory probe, report files, CLI."""

import json
import time
from dataclasses import replace

import pytest

import eccentric.bench as bench
from eccentric.cli import main

TINY = bench.BenchSettings(sizes=(64, 128), dims=(3,), dtypes=("float64", "float32"),
                           s_values=(1.0,), impls=("numba", "numpy", "torch"), repeats=2,
                           memory_sizes=(512, 2048), regularizer_batches=(64,),
                           timing_budget=0.5, relax_cases=((30, 3, 1.0),),
                           rbm_case=(64, 3, 8, 50))


def test_median_seconds_stops_at_the_budget_after_three_calls():
    calls = []

    def work():
        calls.append(1)
        time.sleep(0.01)
    bench.median_seconds(work, repeats=100, budget=0.015)
    assert len(calls) == 3  # the budget is spent after 2, but a median needs 3
    calls.clear()
    bench.median_seconds(work, repeats=100, budget=0.001)
    assert len(calls) == 1  # one call alone is over the budget
    calls.clear()
    bench.median_seconds(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6


def test_run_bench_rows_errors_memory_and_report(tmp_path):
    result = bench.run_bench(TINY)
    rows = result["rows"]
    # numba at 1 and all threads, numpy once, torch once; per N, dtype
    per_config = {(r["n"], r["dtype"]) for r in rows}
    assert len(per_config) == 4
    for row in rows:
        assert {"impl", "n", "dim", "dtype", "s", "threads", "pairs_per_s", "error"} <= set(row)
        if row["impl"] == "numpy" and row["dtype"] == "float32":
            assert row["error"] == "float64 only (the reference transcription)"
            assert row["pairs_per_s"] is None
        else:
            assert row["error"] is None, row
            assert row["pairs_per_s"] > 0
            assert row["force_rel_err"] < (1e-9 if row["dtype"] == "float64" else 1e-4)
    numba_rows = [r for r in rows if r["impl"] == "numba"]
    assert all(0 < r["roof_pct"] and r["gflops"] > 0 for r in numba_rows)
    assert result["roof_gflops"] > 0
    memory = result["memory"]
    assert [m["n"] for m in memory] == [512, 2048]
    assert all(m["error"] is None for m in memory), memory
    assert memory[1]["peak_rss_mb"] >= memory[1]["increase_mb"] > 0
    assert {r["method"] for r in result["relaxation"]} == {"fire", "lbfgs"}
    assert all(r["converged"] and r["evaluations"] > 0 for r in result["relaxation"])
    rb = result["random_batch"]
    assert rb["full_converged"] and abs(rb["radius_rel_diff"]) < 0.2  # tiny case: 50 steps
    assert rb["rbm_pair_evaluations"] > 0
    reg = result["regularizer"]
    assert reg["error"] is None and reg["conv_step_s"] > 0
    json_path, md_path = bench.write_report(result, tmp_path / "out")
    assert json.loads(json_path.read_text())["rows"] == json.loads(json.dumps(rows))
    table = md_path.read_text()
    assert "| 128 | 3 | float64 | 1 |" in table and "numba (1T)" in table
    assert "| 30 | 3 | 1 |" in table and "Random batches (N = 64" in table


def test_slow_measurements_are_skipped_with_the_reason():
    settings = replace(TINY, sizes=(64, 4096), dtypes=("float64",), impls=("numpy",),
                       max_seconds=1e-9, memory_sizes=(), regularizer_batches=(), relax_cases=(),
                       rbm_case=None)
    rows = bench.run_bench(settings)["rows"]
    assert rows[0]["error"] is None
    assert rows[1]["error"].startswith("skipped: predicted")
    assert rows[1]["pairs_per_s"] is None


def test_cli_bench_json_and_errors(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "FULL", replace(TINY, memory_sizes=(256,)))
    code = main(["bench", "--sizes", "64", "--dims", "2", "--dtypes", "float64",
                 "--impls", "numba,torch", "--json", "--out", str(tmp_path / "b")])
    out, _ = capsys.readouterr()
    assert code == 0
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["roof_gflops"] > 0
    assert {(r["impl"], r["n"], r["dim"]) for r in payload["rows"]} == {("numba", 64, 2),
                                                                         ("torch", 64, 2)}
    assert (tmp_path / "b" / "bench.json").exists() and (tmp_path / "b" / "bench.md").exists()
    assert main(["bench", "--impls", "numba,cupy", "--out", str(tmp_path / "c")]) == 2
    assert "unknown implementation 'cupy'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "1"])
    assert "--sizes must be >= 2" in capsys.readouterr().err


def test_summary_ratios_use_the_most_threads_and_the_headline_config():
    def row(impl, threads, rate, n=4096, roof=None):
        return {"impl": impl, "threads": threads, "n": n, "dim": 16, "dtype": "float64",
                "s": 1.0, "pairs_per_s": rate, "roof_pct": roof}
    rows = [row("numba", 1, 1.0), row("numba", 2, 2.0), row("numpy", 1, 0.02),
            row("torch", 2, None), row("numba", 2, 3.0, n=16384, roof=40.0)]
    out = bench.summary({"rows": rows})
    assert out["vs_numpy"] == pytest.approx(100.0) and out["vs_torch"] is None
    assert out["threads_speedup"] == pytest.approx(2.0) and out["roof_pct_16384"] == 40.0
