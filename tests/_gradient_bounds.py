"""Rounding-error bounds for the gradient passes, shared by the core-vs-reference tests.

A first-order forward error analysis of ``Z = X W^T + b``, ``H = sigma(Z)``, ``p = H a``,
``g = loss'(p - y) / n`` and the sums over rows, valid for any summation order (Higham's
``gamma_k = k u / (1 - k u)``, u the unit roundoff of the dtype). sigma and sigma' are taken
accurate to SIGMA_ULPS ulps relative (the core's log cosh kernel is tested to ~10 ulps, numpy's
tanh / sin / log1p are better) and have |sigma''| <= 1 for every activation, so an error dz in z
moves sigma' by at most dz and sigma by at most |sigma'| dz + dz^2 / 2. Each bound covers one
implementation; a comparison of two allows the sum of theirs.
"""

import numpy as np

from mimkit import reference

SIGMA_ULPS = 10


def gamma(k: int, u: float) -> float:
    """Bound on the relative error of k roundings with unit roundoff u (Higham's gamma_k)."""
    return k * u / (1 - k * u)


class GradientErrorBounds:
    """Bounds on |computed - exact| of (grad_W (m, d), grad_b (m,), grad_a (m,), mean_loss) for
    inputs in the dtype of X, evaluated in float64."""

    def __init__(self, X, y, W, b, a, *, activation, loss, huber_delta=1.0, **_):
        u = np.finfo(np.asarray(X).dtype).eps / 2
        X, y, W, b, a = (np.asarray(v, dtype=np.float64) for v in (X, y, W, b, a))
        n, d = X.shape
        m = W.shape[0]
        absX = np.abs(X)
        Z = X @ W.T + b
        dz = gamma(d + 1, u) * (absX @ np.abs(W).T + np.abs(b))
        H = reference.activation_value(Z, activation)
        S = reference.activation_derivative(Z, activation)
        k_sigma = 2 * SIGMA_ULPS * u
        dH = np.abs(S) * dz + dz**2 / 2 + k_sigma * np.abs(H)
        dS = dz + k_sigma * np.abs(S)
        r = H @ a - y
        dr = gamma(m, u) * (np.abs(H) @ np.abs(a)) + dH @ np.abs(a) + u * (np.abs(r) + np.abs(y))
        g = reference.loss_derivative(r, 0.0, loss, huber_delta)
        if loss == "absolute":
            # within dr of the kink the two sides may take opposite signs
            dg = np.where(np.abs(r) <= dr, 2.0, 0.0)
        else:
            dg = dr  # r -> r and r -> clip(r, -delta, delta) are 1-Lipschitz
        # D = g sigma'(Z) / n, rounded in the product and the division
        D = np.abs(g)[:, None] * np.abs(S) / n
        dD = (dg[:, None] * np.abs(S) + np.abs(g)[:, None] * dS) / n + 3 * u * D
        sum_gamma = gamma(n + 1, u)
        abs_a = np.abs(a)
        self.grad_W = abs_a[:, None] * ((dD + sum_gamma * D).T @ absX + 2 * u * D.T @ absX)
        self.grad_b = abs_a * (dD + sum_gamma * D).sum(axis=0)
        absG = np.abs(g) / n
        self.grad_a = (dH.T @ absG + np.abs(H).T @ (dg / n)) + (sum_gamma + 2 * u) * (
            np.abs(H).T @ absG
        )
        losses = reference.loss_value(r, 0.0, loss, huber_delta)
        dloss = np.abs(g) * dr + dr**2 / 2 + 2 * u * losses
        self.mean_loss = float(np.mean(dloss) + sum_gamma * np.mean(losses))

    def pairs(self, got, want):
        """(name, |got - want|, allowed) for the four outputs of two implementations."""
        names = ("grad_W", "grad_b", "grad_a", "mean_loss")
        for name, g, w in zip(names, got, want):
            diff = np.abs(np.asarray(g, np.float64) - np.asarray(w, np.float64))
            yield name, diff, 2 * np.asarray(getattr(self, name))
