"""Label preprocessings ``T(y)`` for spectral methods, and the optimal one.

Theory: docs/theory.md, "Phase 1" (losses as preprocessings) and "Spectral methods".

A spectral method builds ``S = (1/n) sum_i T(y_i) x_i x_i^T`` from a scalar weight per label.
The network's phase 1 builds the same matrix with ``T(y) = -loss'(c, y)``, so every loss is a
preprocessing (:func:`loss_preprocessing`); the library names are

============  ==========================  ===============================================
name          ``T(y)``                    loss that induces it
============  ==========================  ===============================================
identity      ``y``                       squared loss (principal Hessian directions)
squared       ``y``                       (alias of identity)
sign          ``sign(y)`` (0 at 0)        absolute (l1) loss
absolute      ``sign(y)``                 (alias of sign)
huber         ``clip(y, -delta, delta)``  Huber(delta) loss
capped        ``min(y, cap)``             a squared loss capped from above
modulus       ``|y|``                     an even preprocessing (needed for ``z1*z2*z3``)
============  ==========================  ===============================================

and ``"optimal"``, which depends on the link: :func:`optimal_preprocessing`.
"""

from __future__ import annotations

import numbers
from typing import Callable, Union

import numpy as np
from scipy import optimize

from .._validation import (
    as_vector,
    check_finite_number,
    check_name,
    check_positive_number,
    real_output,
)
from ..options import LOSSES, PREPROCESSINGS

Preprocessing = Union[str, Callable[[np.ndarray], np.ndarray]]


def make_preprocessing(
    name: str, *, delta: float = 1.0, cap: float = 1.0
) -> Callable[[np.ndarray], np.ndarray]:
    """The label transform ``T`` called ``name`` (table in the module docstring).

    Parameters
    ----------
    name : str
        One of ``identity, squared, sign, absolute, huber, capped, modulus`` ("optimal" needs a
        link: use :func:`optimal_preprocessing`).
    delta : float
        Huber threshold (``huber`` only), > 0.
    cap : float
        Upper cap (``capped`` only).

    Returns
    -------
    callable
        ``T(y)`` mapping an (n,) array to an (n,) float array; its ``__name__`` is ``name``,
        its ``breaks`` the labels where it has a kink or a jump (for the theory's quadrature).
    """
    if not isinstance(name, str) or name not in PREPROCESSINGS:
        raise ValueError(
            f"unknown preprocessing {name!r}; choose one of {', '.join(PREPROCESSINGS)} "
            f"or pass a callable T(y)."
        )
    if name == "optimal":
        raise ValueError(
            "preprocessing 'optimal' depends on the link; call "
            "optimal_preprocessing(link) (or pass link=... to the spectral method)."
        )
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0:
        raise ValueError(f"delta must be a positive number, got {delta!r}.")
    delta, cap = float(delta), check_finite_number(cap, "cap")
    transforms = {
        "identity": lambda y: y,
        "squared": lambda y: y,
        "sign": np.sign,
        "absolute": np.sign,
        "huber": lambda y: np.clip(y, -delta, delta),
        "capped": lambda y: np.minimum(y, cap),
        "modulus": np.abs,
    }
    inner = transforms[name]

    def transform(y: np.ndarray) -> np.ndarray:
        return np.asarray(inner(np.asarray(y, dtype=np.float64)), dtype=np.float64)

    transform.__name__ = name
    transform.breaks = {  # type: ignore[attr-defined]
        "sign": (0.0,),
        "absolute": (0.0,),
        "modulus": (0.0,),
        "huber": (-delta, delta),
        "capped": (cap,),
    }.get(name, ())
    return transform


def apply_preprocessing(preprocessing: Preprocessing, y: np.ndarray) -> np.ndarray:
    """``T(y)`` for a name or a callable, checked to be a finite (n,) float array.

    Parameters
    ----------
    preprocessing : str or callable
        A name accepted by :func:`make_preprocessing` or a vectorised callable on (n,) arrays.
    y : (n,) array

    Returns
    -------
    (n,) float64 array
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    y = as_vector(y, "y", np.dtype(np.float64), y.shape[0])
    if isinstance(preprocessing, str):
        fn = make_preprocessing(preprocessing)
    elif callable(preprocessing):
        fn = preprocessing
    else:
        raise TypeError(
            f"preprocessing must be a name or a callable T(y), got {type(preprocessing).__name__}."
        )
    t = real_output(fn(y), "preprocessing", "preprocessing T(y)").astype(np.float64, copy=False)
    if t.shape != y.shape:
        raise ValueError(
            f"preprocessing returned shape {t.shape} for y of shape {y.shape}; "
            f"T must map each label to one weight."
        )
    if not np.isfinite(t).all():
        raise ValueError("preprocessing produced NaN or inf weights T(y); bound T or clean y.")
    return t


def loss_location(loss: str, y: np.ndarray, huber_delta: float = 1.0) -> float:
    """The loss's own location estimate ``c`` of y: mean, median or Huber location.

    Why the network needs it: docs/theory.md, "Phase 1".

    For Huber, ``c`` solves ``sum_i clip(y_i - c, -delta, delta) = 0``.

    Parameters
    ----------
    loss : {"squared", "absolute", "huber"}
    y : (n,) array
        Labels.
    huber_delta : float

    Returns
    -------
    float
        ``c``.
    """
    check_name(loss, "loss", LOSSES)
    huber_delta = check_positive_number(huber_delta, "huber_delta")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array, got shape {y.shape}.")
    if loss == "squared":
        return float(np.mean(y))
    if loss == "absolute":
        return float(np.median(y))
    lo, hi = float(np.min(y)), float(np.max(y))
    if lo == hi:
        return lo
    # The estimating equation is monotone in c and changes sign on [min y, max y].
    return float(
        optimize.brentq(
            lambda c: np.mean(np.clip(y - c, -huber_delta, huber_delta)),
            lo,
            hi,
            xtol=1e-12 * max(1.0, hi - lo),
        )
    )


def loss_preprocessing(
    loss: str, y: np.ndarray, huber_delta: float = 1.0
) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """The preprocessing ``T(y) = -loss'(c, y)`` a network trained with ``loss`` applies.

    Parameters
    ----------
    loss : {"squared", "absolute", "huber"}
    y : (n,) array
        Labels from which the offset ``c`` is fitted (:func:`loss_location`).
    huber_delta : float

    Returns
    -------
    T : callable
        ``y -> y - c``, ``sign(y - c)`` or ``clip(y - c, -delta, delta)``.
    c : float
    """
    c = loss_location(loss, y, huber_delta)
    return loss_transform(loss, c, huber_delta), c


def loss_transform(
    loss: str, c: float, huber_delta: float = 1.0
) -> Callable[[np.ndarray], np.ndarray]:
    """``T(y) = -loss'(c, y)`` for a given output offset ``c`` (see :func:`loss_preprocessing`).

    Parameters
    ----------
    loss : {"squared", "absolute", "huber"}
    c : float
        Output offset.
    huber_delta : float

    Returns
    -------
    callable
        Maps labels (n,) to float64 weights (n,); its ``breaks`` are the labels where it has a
        kink or a jump (for the theory's quadrature).
    """
    check_name(loss, "loss", LOSSES)
    if loss == "squared":

        def transform(v):
            return np.asarray(v, dtype=np.float64) - c
    elif loss == "absolute":

        def transform(v):
            return np.sign(np.asarray(v, dtype=np.float64) - c)
    else:

        def transform(v):
            return np.clip(np.asarray(v, dtype=np.float64) - c, -huber_delta, huber_delta)

    transform.__name__ = f"-{loss}'(c={c:.4g}, y)"
    transform.breaks = {  # type: ignore[attr-defined]
        "absolute": (c,),
        "huber": (c - huber_delta, c + huber_delta),
    }.get(loss, ())
    return transform
