"""Atomic fits and the power-of-two rescaling that the regressors share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from .._scale import data_scale
from ..stream import StreamedData

#: Largest power-of-two exponent of a label scale that float32 predictions can carry.
_FLOAT32_EXPONENT = 120


@contextlib.contextmanager
def atomic_fit(estimator) -> Iterator[None]:
    """Restore the estimator's attributes as they were if the fit inside raises, Ctrl-C
    (KeyboardInterrupt) included: a fit either completes or leaves the previous fit (or none)
    in place, never a half-set mix (``n_features_in_`` of the new data, no weights)."""
    before = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        raise


def data_scales(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(x_scale, y_scale)``: powers of two nearest the RMS of X and the standard deviation
    of y (:func:`mimkit._scale.data_scale`); the regressors fit ``(X / x_scale, y / y_scale)``.

    Raises
    ------
    ValueError
        Naming X or y and the usable range; or float32 X with labels beyond float32's range.
    """
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"y has dtype {y.dtype}; a regressor fits real numbers: pass numeric labels "
            f"(y.astype(float) if the strings hold numbers)."
        )
    x_scale, y_scale = data_scale(X, "X"), data_scale(y, "y", centre=True)
    if X.dtype == np.float32 and not 2.0**-_FLOAT32_EXPONENT <= y_scale <= 2.0**_FLOAT32_EXPONENT:
        raise ValueError(
            f"y's scale is about {y_scale:.3g}, beyond what float32 predictions hold; pass X "
            f"as float64 (or rescale y)."
        )
    return x_scale, y_scale


def divided(values: np.ndarray, scale: float) -> np.ndarray:
    """``values / scale`` (exact for a power of two), without a copy when ``scale`` is 1."""
    return values if scale == 1.0 else values / scale


def fitted_stream(estimator, X: StreamedData) -> StreamedData:
    """A StreamedData checked against a fitted estimator: its number of features, and (as a
    stream's rows have scale 1 and cannot be divided) an ``x_scale_`` of 1."""
    if X.d != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.d} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    x_scale = getattr(estimator, "x_scale_", 1.0)
    if x_scale != 1.0:
        raise ValueError(
            f"fitted on X of scale {x_scale:.3g} (a stream's rows have scale 1): pass X as an "
            f"array."
        )
    return X
