"""``mimkit run --data FILE.csv --target COL``: the network on a real data set.

Real data is outside the Gaussian theory: the network is trained with ``whiten=True``
(:class:`mimkit.estimators.LayerwiseRegressor`), next to a cross-validated ridge regression,
and the classical dimension tests (SIR, SAVE, pHd on R dr's conventions) say how many
directions the data show. :func:`run_data` returns the report as a JSON-ready dict and
:func:`format_data_report` turns it into text.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import metrics
from ._random import as_generator
from .estimators import PHD, SAVE, SIR, LayerwiseRegressor

#: Share of the rows held out for the test error.
TEST_FRACTION = 0.2
#: Ridge penalties tried by leave-one-out cross-validation.
RIDGE_ALPHAS = np.logspace(-3, 3, 13)


def read_table(path: str, target: str) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """(X, y, feature names, rows dropped for missing values) from a CSV file.

    Every column but ``target`` is a feature and must be numeric.
    """
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        reason = " ".join(str(err).split())  # pandas' message may span lines
        raise ValueError(f"--data {path}: cannot read it as CSV ({reason}).") from None
    if target not in table.columns:
        raise ValueError(
            f"--target {target!r} is not a column of {path}; its columns are "
            f"{', '.join(map(str, table.columns))}."
        )
    features = [c for c in table.columns if c != target]
    bad = [str(c) for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ValueError(
            f"--data {path}: non-numeric columns {', '.join(bad)}; encode or drop them first."
        )
    if not features:
        raise ValueError(f"--data {path}: no feature column besides the target {target!r}.")
    complete = table.dropna()
    _check_scale(path, complete)
    return (
        complete[features].to_numpy(dtype=np.float64),
        complete[target].to_numpy(dtype=np.float64),
        [str(c) for c in features],
        len(table) - len(complete),
    )


def _check_scale(path: str, table: pd.DataFrame) -> None:
    """Each column's sum of squares (covariances, variances) must stay within float64's normal
    range, or whitening sees a singular covariance and the test error divides 0 by 0."""
    finfo = np.finfo(np.float64)
    high = np.sqrt(finfo.max / max(len(table), 1))
    low = np.sqrt(finfo.tiny)
    for name in table.columns:
        peak = float(np.max(np.abs(table[name].to_numpy(dtype=np.float64)), initial=0.0))
        if peak > high or 0 < peak < low:
            fate = "overflow" if peak > high else "underflow"
            raise ValueError(
                f"--data {path}: column {name!r} holds values up to {peak:.3g} in magnitude, "
                f"whose squares {fate} float64 (covariances need them); rescale it (e.g. to "
                f"standard units) first."
            )


def run_data(args) -> dict:
    """Split, fit the network (whitened), ridge and the SDR tests; the report as a dict.

    ``args`` is a :class:`mimkit.run_workflow.RunSettings` with ``data`` and ``target``; the
    network options (width, loss, steps, ...) and the seed apply, the synthetic-problem
    ones (d, alpha, link, ...) do not.
    """
    X, y, names, dropped = read_table(args.data, args.target)
    n, d = X.shape
    n_test = max(1, round(TEST_FRACTION * n))
    if n - n_test < max(10, 2 * d) or n_test < 2:
        raise ValueError(
            f"--data {args.data}: {n} complete rows for {d} features; at least "
            f"{max(10, 2 * d) + 2} are needed (training needs >= 2 d, testing 2)."
        )
    rng = as_generator(args.seed)
    perm = rng.permutation(n)
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    start = time.perf_counter()
    network = LayerwiseRegressor(
        n_hidden=args.width,
        activation=args.activation,
        loss=args.loss,
        huber_delta=args.huber_delta,
        lr=args.lr,
        weight_decay=args.weight_decay,
        n_steps="auto" if args.steps is None else args.steps,
        init_scale=args.init_scale,
        n_threads=args.threads,
        random_state=rng,
        whiten=True,
    ).fit(X[train], y[train])
    network_s = time.perf_counter() - start
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS)).fit(X[train], y[train])
    sdr = {}
    for label, estimator in (
        ("SIR", SIR(n_directions="auto")),
        ("SAVE", SAVE(n_directions="auto")),
        ("pHd", PHD(n_directions="auto", resid=True)),
    ):
        estimator.fit(X[train], y[train])
        sdr[label] = {
            "dimension": estimator.n_directions_,
            "tests": estimator.dimension_tests_.to_dict(orient="list"),
        }
    k = max(1, sdr["SIR"]["dimension"])
    subspace = network.subspace(k)
    sir_directions = SIR(k).fit(X[train], y[train]).directions_
    return {
        "data": {
            "file": args.data,
            "target": args.target,
            "features": names,
            "n": n,
            "d": d,
            "dropped_rows": dropped,
        },
        "sizes": {"n_train": int(train.size), "n_test": int(test.size), "width": args.width},
        "test_error": {
            "network": metrics.relative_test_error(network.predict(X[test]), y[test]),
            "ridge": metrics.relative_test_error(ridge.predict(X[test]), y[test]),
        },
        "sdr": sdr,
        "network_subspace": {
            "k": k,
            "directions": subspace.tolist(),
            "distance_to_sir": float(metrics.subspace_distance(subspace, sir_directions)),
        },
        "seconds": {"network": network_s},
    }


def format_data_report(report: dict) -> str:
    """The text of :func:`run_data`'s report."""
    data, err = report["data"], report["test_error"]
    lines = [
        f"data: {data['file']}  target: {data['target']}  n = {data['n']}, d = {data['d']}"
        + (
            f"  ({data['dropped_rows']} rows with missing values dropped)"
            if data["dropped_rows"]
            else ""
        ),
        f"train / test rows: {report['sizes']['n_train']} / {report['sizes']['n_test']}"
        "  (the network whitens X: real data is outside its Gaussian theory)",
        "",
        "relative test error (MSE / Var y):",
        f"  {'network (width ' + str(report['sizes']['width']) + ', whitened)':<32}"
        f"{err['network']:.4f}",
        f"  {'ridge (standardised, LOO-CV)':<32}{err['ridge']:.4f}",
        "",
        "how many directions (large-sample marginal dimension tests, level 0.05):",
    ]
    for label, entry in report["sdr"].items():
        tests = entry["tests"]
        column = "p_value_general" if "p_value_general" in tests else "p_value"
        pvalues = ", ".join(
            f"{h.split(' vs')[0]}: p = {p:.3g}" for h, p in zip(tests["hypothesis"], tests[column])
        )
        lines.append(f"  {label:<5} {entry['dimension']}   ({pvalues})")
    sub = report["network_subspace"]
    lines += [
        "",
        f"network subspace (k = {sub['k']}), distance to SIR's: {sub['distance_to_sir']:.3f}",
    ]
    for j, row in enumerate(sub["directions"]):
        top = np.argsort(-np.abs(row))[:4]
        loadings = ", ".join(f"{data['features'][i]} {row[i]:+.2f}" for i in top)
        lines.append(f"  direction {j + 1}: {loadings}")
    return "\n".join(lines)
