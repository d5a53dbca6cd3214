"""Bad and odd inputs to the SDR estimators (PHD, SIR, SAVE, SpectralEstimator): each bad input
gives a ValueError / TypeError whose message names the argument (and the fix); odd but valid
inputs (int, read-only, strided, memory-mapped arrays) give the same result as a plain C-ordered
float64 array."""

import numpy as np
import pytest

from _bad_inputs import NAN_Y, X, Y, check
from mimkit.estimators.sdr import PHD, SAVE, SIR, SpectralEstimator

SDR = [PHD, SIR, SAVE, SpectralEstimator]
SDR_CASES = [
    (
        "n_directions=0",
        lambda E: E(0).fit(X, Y),
        ValueError,
        "n_directions must be an integer >= 1",
    ),
    (
        "n_directions>d",
        lambda E: E(6).fit(X, Y),
        ValueError,
        "n_directions = 6 exceeds n_features = 5",
    ),
    ("n_directions float", lambda E: E(2.0).fit(X, Y), ValueError, "n_directions must be an"),
    # Parameters are checked before the data: a bad parameter is named even with bad data.
    ("parameter first", lambda E: E(0).fit(X[:, 0], Y), ValueError, "n_directions must be an"),
    ("X 1-D", lambda E: E(2).fit(X[:, 0], Y), ValueError, "Expected 2D array"),
    ("n=1", lambda E: E(1).fit(X[:1], Y[:1]), ValueError, "at least 2 samples are needed"),
    ("y length", lambda E: E(2).fit(X, Y[:3]), ValueError, "inconsistent numbers of samples"),
    ("y nan", lambda E: E(2).fit(X, NAN_Y), ValueError, "Input y contains NaN"),
    (
        "X inf",
        lambda E: E(2).fit(np.where(X > 2, np.inf, X), Y),
        ValueError,
        "Input X contains infinity",
    ),
    ("X empty", lambda E: E(2).fit(np.zeros((0, 5)), np.zeros(0)), ValueError, "0 sample"),
    ("y None", lambda E: E(2).fit(X, None), ValueError, "requires y to be passed"),
    (
        "transform d mismatch",
        lambda E: E(2).fit(X, Y).transform(X[:, :3]),
        ValueError,
        "X has 3 features",
    ),
]


@pytest.mark.parametrize("estimator", SDR, ids=[E.__name__ for E in SDR])
@pytest.mark.parametrize("label, fn, exc, match", SDR_CASES, ids=[c[0] for c in SDR_CASES])
def test_sdr_errors(estimator, label, fn, exc, match):
    check(lambda: fn(estimator), exc, match)


@pytest.mark.parametrize("estimator", [PHD, SIR, SAVE], ids=["PHD", "SIR", "SAVE"])
def test_sdr_whitening_refuses_a_singular_covariance(estimator):
    collinear = np.c_[X, X[:, :1]]  # exact duplicate column: Cholesky may still "succeed"
    check(lambda: estimator(2).fit(collinear, Y), ValueError, "covariance of X is singular")


# (estimator, its parameters, the ValueError's message): every one is refused at fit.
SDR_SETTING_CASES = [
    (SIR, {"n_slices": 0}, "n_slices must be an integer >= 1"),
    (SIR, {"n_slices": 100}, "exceeds n_samples"),
    (SIR, {"n_slices": 2.5}, "n_slices must be"),
    (
        SAVE,
        {"n_slices": 40, "slicing": "equal", "bias_correction": True},
        ">= 2 samples per slice",
    ),
    (SIR, {"slicing": "ties"}, "unknown slicing 'ties'; choose one of dr, equal"),
    (
        SIR,
        {"dimension_test": "general"},
        "unknown dimension_test 'general'; choose one of normal, permutation",
    ),
    (
        PHD,
        {"dimension_test": "permutation", "n_permutations": 0},
        "n_permutations must be an integer >= 1",
    ),
    (SIR, {"n_directions": "all"}, "n_directions must be an integer >= 1, got 'all'. Or pass"),
    (SpectralEstimator, {"preprocessing": "foo"}, "unknown preprocessing 'foo'"),
    (SpectralEstimator, {"center": "x"}, "unknown center 'x'"),
    (SpectralEstimator, {"which": "x"}, "unknown which 'x'"),
    (SpectralEstimator, {"method": "x"}, "unknown method 'x'"),
    (SpectralEstimator, {"preprocessing": "optimal", "link": "foo"}, "unknown link 'foo'"),
    (SpectralEstimator, {"preprocessing": "optimal"}, "needs the link"),
]


KERNEL_SDR = [PHD, SIR, SAVE]
KERNEL_SDR_CASES = [
    (
        "single-valued y",
        lambda E: E(2).fit(X, np.full(X.shape[0], 3.0)),
        ValueError,
        "y has a single value \\(3.0\\); .* needs a response that varies",
    ),
    ("level 0", lambda E: E(2, level=0).fit(X, Y), ValueError, "level must be in \\(0, 1\\)"),
    ("level 1", lambda E: E(2, level=1.0).fit(X, Y), ValueError, "level must be in \\(0, 1\\)"),
    ("level str", lambda E: E(2, level="5%").fit(X, Y), ValueError, "level must be a number"),
    (
        "dimension_test",
        lambda E: E(2, dimension_test="wald").fit(X, Y),
        ValueError,
        "unknown dimension_test 'wald'",
    ),
]


@pytest.mark.parametrize("estimator", KERNEL_SDR, ids=[E.__name__ for E in KERNEL_SDR])
@pytest.mark.parametrize(
    "label, fn, exc, match", KERNEL_SDR_CASES, ids=[c[0] for c in KERNEL_SDR_CASES]
)
def test_kernel_sdr_errors(estimator, label, fn, exc, match):
    check(lambda: fn(estimator), exc, match)


@pytest.mark.parametrize("estimator", [SIR, SAVE], ids=["SIR", "SAVE"])
def test_sliced_sdr_refuses_more_slices_than_samples(estimator):
    check(
        lambda: estimator(2, n_slices=61).fit(X, Y),
        ValueError,
        "n_slices = 61 exceeds n_samples = 60; pass at most 60",
    )


@pytest.mark.parametrize(
    "estimator, parameters, match",
    SDR_SETTING_CASES,
    ids=[f"{E.__name__}-{'-'.join(p)}" for E, p, _ in SDR_SETTING_CASES],
)
def test_sdr_setting_errors(estimator, parameters, match):
    parameters = {"n_directions": 2, **parameters}
    check(lambda: estimator(**parameters).fit(X, Y), ValueError, match)


@pytest.mark.parametrize("estimator", SDR, ids=[E.__name__ for E in SDR])
def test_sdr_accepts_int_and_memory_mapped_X(estimator, tmp_path):
    Xi = np.round(3 * X)
    want = estimator(2).fit(Xi, Y).directions_
    np.save(tmp_path / "X.npy", Xi)
    for Xv in (
        Xi.astype(np.int32),
        np.load(tmp_path / "X.npy", mmap_mode="r"),
        np.asfortranarray(Xi),
    ):
        np.testing.assert_allclose(
            estimator(2).fit(Xv, Y).directions_, want, rtol=1e-10, atol=1e-12
        )
