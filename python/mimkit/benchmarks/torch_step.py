"""Target 2: the same phase-1 step in PyTorch CPU autograd (log-cosh activation, Huber loss,
gradient with respect to W only) against the core. PyTorch is optional: without it the
benchmark reports that it was skipped."""
from __future__ import annotations

import math

import numpy as np

from .. import core
from .phase1_step import REGIMES, step_problem
from .timing import interleaved_medians


def measure(n: int = 32768, d: int = 1024, m: int = 256, threads: int = 2, repeats: int = 5,
            dtypes=(np.float64, np.float32)) -> list[dict]:
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
        # same computation, or the timing comparison means nothing
        if not np.allclose(grad_torch, grad_core, rtol=1e-3 if dtype == np.float32 else 1e-9,
                           atol=1e-6 * np.abs(grad_core).max()):
            raise AssertionError("PyTorch and mimkit gradients differ; benchmark is not comparing like with like")
        times = interleaved_medians({
            "core": lambda: core.phase1_gradient(X, y, W, b, a, activation="logcosh", loss="huber",
                                                 n_threads=threads, check_finite=False),
            "torch": torch_step,
        }, repeats)
        rows.append({"dtype": np.dtype(dtype).name, "n": n, "d": d, "m": m, "threads": threads,
                     "torch_version": torch.__version__, "core_s": times["core"],
                     "torch_s": times["torch"], "torch_over_core": times["torch"] / times["core"]})
    return rows


HEADER = ["dtype", "core step (s)", "torch autograd step (s)", "torch / core"]


def table_rows(rows: list[dict]) -> list[list]:
    return [[r["dtype"], r["core_s"], r["torch_s"], r["torch_over_core"]] for r in rows]
