"""The benchmark suite (``mimkit bench``) at tiny sizes: every measurement runs and reports
finite, positive times and ratios consistent with each other, and the runner writes its tables
and JSON. How fast things are is measured by ``bench/``, never asserted here."""

import json
import math
import re

import numpy as np
import pytest

from mimkit.benchmarks import (
    fit,
    local_hessian,
    phase1_step,
    stream,
    suite,
    time_to_accuracy,
    timing,
)
from mimkit.benchmarks.timing import markdown_table


@pytest.fixture(autouse=True)
def no_settling(monkeypatch):
    monkeypatch.setattr(timing, "SETTLE_S", 0.0)
    monkeypatch.setattr(fit, "SETTLE_S", 0.0)


def assert_positive(row, keys):
    for key in keys:
        assert math.isfinite(row[key]) and row[key] > 0, (key, row[key])


def test_phase1_step_rows_and_table():
    rows = phase1_step.measure(n=600, d=24, m=8, repeats=3)
    assert [(r["dtype"], r["regime"]) for r in rows] == [
        ("float64", "phase-1"),
        ("float64", "nonlinear"),
        ("float32", "phase-1"),
        ("float32", "nonlinear"),
    ]
    for r in rows:
        assert_positive(
            r,
            [
                "core_s",
                "core_1thread_s",
                "numpy_gemms_s",
                "reference_s",
                "core_over_gemms",
                "reference_over_core",
                "thread_speedup",
                "numpy_thread_speedup",
            ],
        )
        assert r["core_gflops"] == pytest.approx(4.0 * 600 * 8 * 24 / r["core_s"] / 1e9)
    assert len(markdown_table(phase1_step.COLUMNS, rows).splitlines()) == 2 + len(rows)


def test_local_hessian_rows():
    rows = local_hessian.measure(n=600, d=24, ks=(1, 3), repeats=3)
    assert [(r["dtype"], r["k"]) for r in rows] == [
        ("float64", 1),
        ("float64", 3),
        ("float32", 1),
        ("float32", 3),
    ]
    for r in rows:
        assert_positive(r, ["core_s", "numpy_s", "numpy_over_core", "stream_s"])
    assert len(markdown_table(local_hessian.COLUMNS, rows).splitlines()) == 2 + len(rows)


def test_stream_rows():
    rows = stream.measure(n=600, d=40, widths=(8,), repeats=3)
    assert {r["dtype"] for r in rows} == {"float32", "float64"}
    for r in rows:
        assert_positive(r, ["array_step_s", "stream_step_s", "stream_over_array"])
    assert len(markdown_table(stream.COLUMNS, rows).splitlines()) == 2 + len(rows)


def test_fit_overhead_is_a_fraction_of_phase1():
    row = fit.measure_overhead(d=24, alpha=8, m=8, n_steps=3, repeats=3)
    assert 0 < row["steps_s"] <= row["phase1_s"]
    assert 0 <= row["overhead_fraction"] <= row["overhead_fraction_max"] < 1


def test_scaling_reports_time_memory_and_slopes():
    result = fit.measure_scaling(ds=(24, 48), alpha=8, m=8, n_steps=2, repeats=1)
    assert [r["d"] for r in result["rows"]] == [24, 48]
    for r in result["rows"]:
        assert 0 < r["phase1_s"] < r["fit_s"]
        assert r["data_bytes"] == 2 * 8 * r["d"] * r["d"] * 8 and r["peak_extra_bytes"] >= 0
    assert math.isfinite(result["slope_fit"]) and math.isfinite(result["slope_phase1"])


def test_runner_prints_tables_and_writes_json(tmp_path, monkeypatch, capsys):
    tiny = (
        lambda quick: (
            local_hessian.measure(n=300, d=16, ks=(1,), repeats=2, dtypes=(np.float64,)),
            "TABLE",
        ),
        "tiny",
    )
    monkeypatch.setattr(suite, "BENCHMARKS", {"tiny": tiny})
    suite.run(["tiny"], quick=True, out_dir=str(tmp_path))
    out = capsys.readouterr().out
    assert "numpy BLAS" in out and "### tiny" in out and "TABLE" in out
    payload = json.loads((tmp_path / "tiny.json").read_text())
    assert (
        payload["quick"] is True
        and payload["config"]["variant"]
        and payload["results"][0]["k"] == 1
    )
    with pytest.raises(ValueError, match="unknown benchmark"):
        suite.run(["nope"], quick=True, out_dir=None)


def check_time_to_accuracy(result: dict, methods: list) -> None:
    tta = time_to_accuracy
    rows = result["rows"]
    assert [r["method"] for r in rows] == methods
    for row, trace in zip(rows, result["traces"]):
        times = [row[f"t_{t:g}"] for t in tta.TARGETS]
        assert times == sorted(times)  # a lower error is reached no sooner
        for target, t in zip(tta.TARGETS, times):
            assert math.isinf(t) == (row["best_error"] > target)
        assert np.all(np.diff(trace["times"]) > 0) and row["t_best"] <= row["train_s"]
        assert 0 < row["best_error"] == min(trace["errors"])


def test_time_to_accuracy_rows_table_and_plot(tmp_path, monkeypatch):
    tta = time_to_accuracy
    monkeypatch.setattr(tta, "_torch_available", lambda: False)  # its import alone takes ~2 s
    result = tta.measure(links=("z1z2",), ds=(12,), alpha=32, budget_s=0.1, n_test=200, threads=1)
    check_time_to_accuracy(result, [m for m in tta.METHODS if m != "PyTorch"])
    assert "PyTorch is not installed" in result["skipped"][0]
    table = tta.tables(
        {**result, "acceptance": tta.measure_acceptance(ds=(12,), alpha=16, n_test=200, threads=1)}
    )
    lines = table.splitlines()
    assert lines[0].count("|") == len(tta.COLUMNS) + 1 and len(lines) >= 2 + len(result["rows"])
    assert "MLPRegressor(max_iter=50)" in table and "PyTorch is not installed" in table
    assert tta.plot(result, tmp_path / "t.png").stat().st_size > 0


@pytest.mark.slow
def test_time_to_accuracy_with_pytorch():
    pytest.importorskip("torch")
    result = time_to_accuracy.measure(
        links=("z1z2",),
        ds=(12,),
        alpha=32,
        budget_s=0.3,
        n_test=200,
        threads=1,
        methods=["PyTorch"],
    )
    check_time_to_accuracy(result, ["PyTorch"])


def test_latency_is_a_benchmark_of_the_suite():
    assert "latency" in suite.BENCHMARKS


def test_latency_times_mimkit_run_cold_and_warm_next_to_its_learning(tmp_path):
    from mimkit.benchmarks import latency

    small = ["--d", "32", "--alpha", "4", "--n-test", "200", "--width", "8", "--no-baseline"]
    cold, warm = latency._run_rows(small, "mimkit run (small)", tmp_path)
    assert (cold["cache"], warm["cache"]) == ("cold", "warm")
    for row in (cold, warm):
        # The learning time is the run's own report, taken inside the timed process.
        assert 0 < row["learning_s"] < row["wall_s"]
    table = markdown_table(latency.COLUMNS, [cold, warm])
    assert "mimkit run (small) | cold" in table
    assert "baselines" not in cold["learning"]  # --no-baseline: none to name


def test_latency_names_the_baselines_time_beside_the_learning(tmp_path):
    from mimkit.benchmarks import latency

    small = ["--d", "32", "--alpha", "4", "--n-test", "200", "--width", "8"]
    cold, _ = latency._run_rows(small, "mimkit run (small)", tmp_path)
    assert re.search(r"; baselines \d+\.\d\d s$", cold["learning"])


def test_latency_amp_row_counts_its_iterations_matrix_products():
    from mimkit.benchmarks import latency

    row = latency._amp_row(d=40, n=200, repeats=1)
    assert row["learning_s"] > 0 and row["wall_s"] > 0
    assert "iterations' two matrix products" in row["learning"]
