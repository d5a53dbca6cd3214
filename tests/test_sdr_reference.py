"""SIR, SAVE and pHd against R's dr package (version 3.0.11, the one that wrote
tests/data/dr_reference.csv; regenerate with tests/data/dr_reference.R): slice sizes,
eigenvalues, directions and the large-sample marginal dimension tests, on scikit-learn's
diabetes and iris data (tests/data/dr_reference_inputs.py).

Tolerances: both sides compute the same closed forms in double precision, so agreement is to
rounding (1e-9 relative). Two exceptions: dr prints p-values as ``1 - pchisq``, which is 0 below
~1e-16, hence an absolute 1e-12 on p-values; and directions are compared only where their
eigenvalue is separated from the others (an eigenvector of a repeated or null eigenvalue, e.g.
SIR beyond h - 1 directions, is arbitrary).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mimkit.estimators import PHD, SAVE, SIR

DATA = Path(__file__).parent / "data"
REFERENCE = pd.read_csv(DATA / "dr_reference.csv")
DR_VERSION = "3.0.11"

_spec = importlib.util.spec_from_file_location(
    "dr_reference_inputs", DATA / "dr_reference_inputs.py"
)
_inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_inputs)
DATASETS = _inputs.datasets()

ESTIMATORS = {
    "sir": lambda: SIR(),
    "save": lambda: SAVE(),
    "phd": lambda: PHD(resid=True),  # dr's "phd" uses the OLS residuals
    "phdy": lambda: PHD(),
}
#: dr's column names -> ours.
TEST_COLUMNS = {
    "Stat": "statistic",
    "df": "df",
    "df(Nor)": "df",
    "p.value": "p_value",
    "p.value(Nor)": "p_value",
    "Normal theory": "p_value",
    "p.value(Gen)": "p_value_general",
    "General theory": "p_value_general",
}
FITS = sorted(
    REFERENCE.loc[REFERENCE.dataset != "version", ["dataset", "method"]]
    .drop_duplicates()
    .itertuples(index=False, name=None)
)


def test_reference_version():
    assert REFERENCE.loc[REFERENCE.dataset == "version", "quantity"].item() == DR_VERSION


def _quantity(dataset, method, name):
    rows = REFERENCE[
        (REFERENCE.dataset == dataset) & (REFERENCE.method == method) & (REFERENCE.quantity == name)
    ].sort_values(["row", "col"])
    return rows.value.to_numpy(), rows.row.max() + 1


@pytest.fixture(scope="module", params=FITS, ids=[f"{d}-{m}" for d, m in FITS])
def fitted(request):
    dataset, method = request.param
    X, y = DATASETS[dataset]
    return dataset, method, ESTIMATORS[method]().fit(X, y)


def test_eigenvalues_and_directions(fitted):
    dataset, method, est = fitted
    values, p = _quantity(dataset, method, "eigenvalues")
    scale = np.abs(values).max()
    np.testing.assert_allclose(est.eigenvalues_, values, rtol=0, atol=1e-9 * scale)
    directions = _quantity(dataset, method, "directions")[0].reshape(p, p)
    gaps = np.abs(np.diff(np.r_[np.inf, np.abs(values), 0.0]))
    separated = np.minimum(gaps[:-1], gaps[1:]) > 1e-6 * scale
    # Unit length in the original coordinates, equal up to sign.
    cosines = np.abs(np.sum(est.directions_.T * directions, axis=0))
    np.testing.assert_allclose(cosines[separated], 1.0, atol=1e-9)
    assert separated.sum() >= 2


def test_slices(fitted):
    dataset, method, est = fitted
    if method not in ("sir", "save"):
        pytest.skip("pHd does not slice")
    sizes, _ = _quantity(dataset, method, "slice_sizes")
    np.testing.assert_array_equal(est.slice_sizes_, sizes)


def test_dimension_tests(fitted):
    dataset, method, est = fitted
    table = est.dimension_tests_
    names = set(REFERENCE[(REFERENCE.dataset == dataset) & (REFERENCE.method == method)].quantity)
    compared = 0
    for theirs, ours in TEST_COLUMNS.items():
        if theirs not in names:
            continue
        values, _ = _quantity(dataset, method, theirs)
        rows = min(len(table), len(values))
        got = table[ours].to_numpy()[:rows]
        if ours == "statistic":
            np.testing.assert_allclose(got, values[:rows], rtol=1e-9)
        elif ours == "df":
            np.testing.assert_array_equal(got, values[:rows])
        else:
            np.testing.assert_allclose(got, values[:rows], rtol=1e-8, atol=1e-12)
        compared += rows
    assert compared >= 3 * min(len(table), 2)
    assert table.hypothesis[0] == "0D vs >= 1D"
