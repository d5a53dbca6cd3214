"""Target 2: the same phase-1 step in PyTorch CPU autograd (log-cosh activation, Huber loss,
gradient with respect to W only) against the core. PyTorch is optional: without it the
benchmark reports that it was skipped."""

from __future__ import annotations

import math

import numpy as np

from .. import core
from .phase1_step import REGIMES, step_problem
from .timing import Column, case_fields, interleaved_times, median, paired_ratio


# Deliberate twin of phase1_step.measure's signature: torch's step is timed on the same problem
# sizes as the core's step it is compared with.
def measure(
    n: int = 32768,
    d: int = 1024,
    m: int = 256,
    threads: int = 2,
    repeats: int = 9,
    dtypes=(np.float64, np.float32),
) -> list[dict]:
    try:
        import torch
    except ImportError:
        return []
    torch.set_num_threads(threads)
    rows = []
    for dtype in dtypes:
        X, y, W, b, a = step_problem(n, d, m, dtype, REGIMES["nonlinear"])
        Xt, yt, bt, at = (torch.from_numpy(v) for v in (X, y, b, a))
        Wt = torch.from_numpy(W.copy()).requires_grad_(True)

        def torch_step():
            Wt.grad = None
            Z = Xt @ Wt.T + bt
            # log cosh z = |z| + log1p(exp(-2|z|)) - log 2, stable for large |z|
            hidden = Z.abs() + torch.log1p(torch.exp(-2 * Z.abs())) - math.log(2.0)
            loss = torch.nn.functional.huber_loss(hidden @ at, yt, delta=1.0)
            loss.backward()
            return Wt.grad

        grad_core, _ = core.phase1_gradient(X, y, W, b, a, activation="logcosh", loss="huber")
        grad_torch = torch_step().numpy()
        # same computation, or the timing comparison means nothing: normwise agreement to the
        # dtype's accuracy for a sum over n rows (summation orders differ)
        tolerance = 1e-4 if dtype == np.float32 else 1e-10
        if np.linalg.norm(grad_torch - grad_core) > tolerance * np.linalg.norm(grad_core):
            raise AssertionError(
                "PyTorch and mimkit gradients differ; benchmark is not comparing like with like"
            )
        times = interleaved_times(
            {
                "core": lambda: core.phase1_gradient(
                    X,
                    y,
                    W,
                    b,
                    a,
                    activation="logcosh",
                    loss="huber",
                    n_threads=threads,
                    check_finite=False,
                ),
                "torch": torch_step,
            },
            repeats,
        )
        profile = _profile(torch, torch_step)
        rows.append(
            {
                **case_fields(dtype, n=n, d=d, m=m, threads=threads, repeats=repeats),
                "torch_version": torch.__version__,
                "core_s": median(times["core"]),
                "torch_s": median(times["torch"]),
                "torch_over_core": paired_ratio(times, "torch", "core"),
                "torch_matmul_s": profile["matmul_s"],
                "torch_other_s": profile["other_s"],
                "torch_top_ops": profile["top_ops"],
            }
        )
    return rows


#: aten ops that are matrix products (the part of torch's step that runs at the BLAS rate)
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::mv", "aten::dot")


def _profile(torch, step, repeats: int = 3) -> dict:
    """Where torch's step spends its time: self CPU time of the matrix-product ops against all
    other ops (the unfused elementwise passes over n x m), per step, from torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            step()
    per_op = {e.key: e.self_cpu_time_total / 1e6 / repeats for e in prof.key_averages()}
    matmul = sum(t for op, t in per_op.items() if op in MATMUL_OPS)
    top = sorted(per_op.items(), key=lambda kv: -kv[1])[:8]
    return {
        "matmul_s": matmul,
        "other_s": sum(per_op.values()) - matmul,
        "top_ops": [[op, t] for op, t in top],
    }


#: The table's columns: header and the row's key (or a function of the row).
COLUMNS: list[Column] = [
    ("dtype", "dtype"),
    ("core step (s)", "core_s"),
    ("torch autograd step (s)", "torch_s"),
    ("torch / core", "torch_over_core"),
    ("torch matmul ops (s)", "torch_matmul_s"),
    ("torch other ops (s)", "torch_other_s"),
    (
        "torch's slowest ops",
        lambda r: ", ".join(f"{op} {t:.3f}" for op, t in r["torch_top_ops"][:5]),
    ),
]
