"""Time one phase-1 step: the fused core vs `mimkit.reference` vs numpy's two bare GEMMs.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/phase1_step.py [--n 32768 --d 1024
        --m 256 --threads 2 --repeats 5 --json out.json]

Prints a Markdown table of median times over repeats, all measured in this one process run:
the core step, the reference step, numpy's ``X @ W.T`` + ``G.T @ X`` (the physical limit of
the step: the same two products at the machine's BLAS rate), and the ratios.
"""
from __future__ import annotations

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

import mimkit
from mimkit import core, reference
from common import machine_header, median_time, write_json


def run(n: int, d: int, m: int, threads: int, repeats: int, dtype) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    W = (rng.standard_normal((m, d)) * 0.02).astype(dtype)
    b = np.zeros(m, dtype)
    a = np.where(np.arange(m) % 2 == 0, 1.0, -1.0).astype(dtype)
    G = rng.standard_normal((n, m)).astype(dtype)
    kwargs = dict(activation="logcosh", loss="huber", check_finite=False)
    with threadpool_limits(limits=threads):
        t_core = median_time(lambda: core.phase1_gradient(X, y, W, b, a, n_threads=threads, **kwargs), repeats)
        t_ref = median_time(lambda: reference.phase1_gradient(X, y, W, b, a, **kwargs), repeats)
        t_gemm = median_time(lambda: (X @ W.T, G.T @ X), repeats)
    flops = 4.0 * n * m * d
    return {
        "dtype": np.dtype(dtype).name, "n": n, "d": d, "m": m, "threads": threads,
        "core_s": t_core, "reference_s": t_ref, "numpy_gemms_s": t_gemm,
        "core_over_gemms": t_core / t_gemm, "reference_over_core": t_ref / t_core,
        "core_gflops": flops / t_core / 1e9, "gemms_gflops": flops / t_gemm / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=32768)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--m", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="bench/results/phase1_step.json")
    args = parser.parse_args()
    print(machine_header(mimkit.config()))
    rows = [run(args.n, args.d, args.m, args.threads, args.repeats, dt) for dt in (np.float64, np.float32)]
    print("| dtype | core step (s) | reference (s) | numpy 2 GEMMs (s) | core / GEMMs | reference / core | core GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['dtype']} | {r['core_s']:.4f} | {r['reference_s']:.4f} | {r['numpy_gemms_s']:.4f} | "
              f"{r['core_over_gemms']:.2f} | {r['reference_over_core']:.2f} | {r['core_gflops']:.0f} |")
    write_json(args.json, {"config": mimkit.config(), "rows": rows})


if __name__ == "__main__":
    main()
