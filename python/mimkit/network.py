"""The two-layer network ``f(x) = c + sum_j a_j sigma(w_j . x + b_j)``.

Definitions: docs/theory.md, "The network".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import core
from ._validation import as_matrix, check_count, check_name, compute_dtype
from .options import ACTIVATIONS

#: sigma' of each activation, elementwise, in numpy (the core's own is in cpp/activation.hpp; the
#: numpy oracle keeps its own in mimkit.reference).
ACTIVATION_DERIVATIVES = {"logcosh": np.tanh, "quadratic": np.positive, "cos": np.sin}


@dataclass(frozen=True, eq=False)
class TwoLayerNetwork:
    """Parameters of ``f(x) = c + sum_j a_j sigma(w_j . x + b_j)``.

    Attributes
    ----------
    W : (m, d) array, inner weights.  b : (m,) biases.  a : (m,) outer weights.
    c : float, output offset.  activation : str, one of ``logcosh``, ``quadratic``, ``cos``.
    """

    W: np.ndarray
    b: np.ndarray
    a: np.ndarray
    c: float
    activation: str

    def __post_init__(self):
        check_name(self.activation, "activation", ACTIVATIONS)
        m = np.shape(self.W)[0]
        if np.ndim(self.W) != 2 or np.shape(self.b) != (m,) or np.shape(self.a) != (m,):
            raise ValueError(
                f"W must be (m, d) with b and a of shape (m,); got {np.shape(self.W)}, "
                f"{np.shape(self.b)}, {np.shape(self.a)}."
            )

    @property
    def n_hidden(self) -> int:
        return self.W.shape[0]

    @property
    def n_features(self) -> int:
        return self.W.shape[1]

    def _weights_for(self, X: np.ndarray) -> np.ndarray:
        # The core computes in X's dtype and refuses a float32/float64 mix for W; W is small.
        return self.W.astype(compute_dtype(X), copy=False)

    def predict(self, X, *, n_threads: Optional[int] = None) -> np.ndarray:
        """``f(X)``, shape (n,), in the dtype of X (float64 for integer X)."""
        return self.c + core.forward(
            X, self._weights_for(X), self.b, self.a, self.activation, n_threads=n_threads
        )

    def input_gradients(self, X) -> np.ndarray:
        """Gradient of f with respect to the input at each row of X,
        ``grad f(x) = W^T (a * sigma'(W x + b))``: shape (n, d), float64.

        Their average outer product is supported on the span of the directions f varies along
        (:func:`mimkit.metrics.gradient_subspace`); an n x m array is formed, so pass a test set
        of moderate size.
        """
        X = as_matrix(X, "X", np.float64, shape=(None, self.n_features))
        derivative = ACTIVATION_DERIVATIVES[self.activation]
        return (derivative(X @ self.W.T + self.b) * self.a) @ self.W

    def hidden(self, X, *, n_threads: Optional[int] = None) -> np.ndarray:
        """Hidden features ``sigma(X W^T + b)``, shape (n, m), in the dtype of X."""
        return core.hidden_features(
            X, self._weights_for(X), self.b, self.activation, n_threads=n_threads
        )


def symmetric_init(
    n_hidden: int,
    n_features: int,
    init_scale: float,
    outer_scale: float,
    rng: np.random.Generator,
    dtype=np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric small initialisation (docs/theory.md, "The network"): ``f == 0`` at the start.

    Neurons come in pairs ``(2k, 2k+1)`` with the same ``w`` and ``b = 0`` and opposite
    ``a = +-outer_scale``; ``w = init_scale * (uniform on the unit sphere)``, so for
    ``x ~ N(0, I)`` every pre-activation ``w . x`` has standard deviation ``init_scale``.

    Returns
    -------
    W : (n_hidden, n_features) of dtype.  b : (n_hidden,) zeros.  a : (n_hidden,).
    """
    pairs = (
        "Neurons come in symmetric pairs with opposite outer weights: pass an even number, e.g. 64."
    )
    check_count(n_hidden, "n_hidden", minimum=2, hint=pairs)
    if n_hidden % 2:
        raise ValueError(f"n_hidden must be an even integer, got {n_hidden!r}. {pairs}")
    half = rng.standard_normal((n_hidden // 2, n_features))
    half *= init_scale / np.linalg.norm(half, axis=1, keepdims=True)
    W = np.repeat(half, 2, axis=0).astype(dtype, copy=False)
    a = np.tile(np.array([outer_scale, -outer_scale]), n_hidden // 2)
    return W, np.zeros(n_hidden), a
