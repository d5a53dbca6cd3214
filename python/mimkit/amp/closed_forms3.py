r"""Closed-form output channels of the r = 3 links ``sq_sign3`` and ``sign_committee``.

Both posteriors are the Gaussian prior ``N(omega, V)`` (V a full 3 x 3 covariance, as GAMP and
its state evolution pass it) restricted to sign regions, so their moments are truncated
Gaussian moments. Conditioning on ``z1`` leaves ``(z2, z3) | z1 ~ N(m(z1), S)``, with S the
same 2 x 2 conditional covariance for every sample (V is shared), and the region in
``(z2, z3)`` a union of quadrants:

* :class:`SqSign3Channel`, ``y = z1^2 + sign(z1 z2 z3)``, noiseless: given y, ``z1`` is one of
  at most four atoms ``+-sqrt(y - s)``, ``s = +-1`` (where ``y - s >= 0``), each of weight
  ``N(a; omega1, V11) / (2 |a|)`` (the Jacobian of ``y = a^2 + s``) times the probability
  that ``sign(z2 z3) = s sign(a)``: two quadrants. No quadrature at all.
* :class:`SignCommitteeChannel`, ``y = sign(z1) + sign(z2) + sign(z3) + noise``: the label
  counts the positive coordinates. ``z1`` is integrated by Gauss-Legendre on each side of 0
  (split at the jump, as in :mod:`mimkit.amp.closed_forms`); given z1, every quadrant of
  ``(z2, z3)`` is weighed by the likelihood of its count (0 or 1 noiseless, Gaussian noisy).

A quadrant's probability is a bivariate normal orthant probability, from Owen's T function
(the four quadrants of one ``(m, S)`` share the same two T values; exact products when S is
diagonal, as in the state evolution of ``sq_sign3``). Where that formula loses relative
precision (a quadrant far less probable than its margins, ``< _CANCELLATION`` of them), the
probability is recomputed by a log-space quadrature. Its truncated mean and covariance follow
from the probability by Tallis' formulas (univariate normal functions only).
"""

from __future__ import annotations

import copy
from typing import Optional

import numpy as np
from scipy import special

from ._quadrature import (
    _NEGLIGIBLE,
    _TABLE_EDGE,
    _half_line_nodes,
    split_normal_nodes,
    unit_legendre,
)
from .channel import Channel

#: Gauss-Legendre nodes per side of z1 = 0 (sign_committee), graded towards the far end.
_Z1_SIDE_NODES, _Z1_GRADING = 24, 3
#: A quadrant probability below this fraction of its margins' mean is recomputed by quadrature
#: (Owen's formula subtracts terms of the margins' size: ~1e-16 of them is lost).
_CANCELLATION = 1e-7
#: Gauss-Legendre nodes of that quadrature (relative error ~1e-4 at worst: only quadrants
#: improbable against their margins use it).
_TAIL_NODES = 48
#: Smallest conditional correlation gap ``1 - rho^2`` kept (a singular S is a degenerate prior).
_MIN_GAP = 1e-14
_LOG_2PI = float(np.log(2.0 * np.pi))
#: The four quadrants of (z2, z3): signs (q2, q3).
_QUADRANTS = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])


def quadrant_log_probs(
    t2: np.ndarray, t3: np.ndarray, rho: float, needed: Optional[np.ndarray] = None
) -> np.ndarray:
    """``log P(q2 u2 > -q2 t2, q3 u3 > -q3 t3)`` for the four sign pairs of ``_QUADRANTS``.

    ``(u2, u3)`` is standard bivariate normal with correlation ``rho``; for ``(z2, z3) ~ N(m,
    S)`` with ``t = m / sqrt(diag S)`` this is ``log P(sign(z2) = q2, sign(z3) = q3)``.

    Parameters
    ----------
    t2, t3 : arrays of one shape.  rho : float in (-1, 1).
    needed : (4, *t2.shape) bool array, optional
        Where the caller uses the result: the tail quadrature runs only there (elsewhere a
        tail quadrant's value is Owen's formula, clipped at 0).

    Returns
    -------
    (4, *t2.shape) array.
    """
    if rho == 0.0:
        l2, l3 = special.log_ndtr(t2), special.log_ndtr(t3)
        m2, m3 = special.log_ndtr(-t2), special.log_ndtr(-t3)
        return np.stack([l2 + l3, l2 + m3, m2 + l3, m2 + m3])
    gap = np.sqrt(max(1.0 - rho * rho, _MIN_GAP))
    # Owen (1956): Phi2(H, K; r) = (Phi(H) + Phi(K)) / 2 - T(H, a_H) - T(K, a_K) - beta. With
    # H = q2 t2, K = q3 t3, r = q2 q3 rho, the T terms are q2 q3 T(t2, A2) and q2 q3 T(t3, A3):
    # one pair of T values serves all four quadrants. Zeros count as +0 (the formula's limit).
    a = np.where(t2 == 0.0, 1e-150, t2)
    b = np.where(t3 == 0.0, 1e-150, t3)
    both_t = special.owens_t(a, (b - rho * a) / (a * gap))
    both_t += special.owens_t(b, (a - rho * b) / (b * gap))
    same_sign = np.sign(a) == np.sign(b)
    half = {1.0: (0.5 * special.ndtr(a), 0.5 * special.ndtr(b))}
    half[-1.0] = (0.5 * special.ndtr(-a), 0.5 * special.ndtr(-b))
    out = np.empty((4,) + np.shape(t2))
    for i, (q2, q3) in enumerate(_QUADRANTS):
        margins = half[q2][0] + half[q3][1]
        p = margins - q2 * q3 * both_t
        p -= np.where(same_sign == (q2 * q3 > 0), 0.0, 0.5)
        with np.errstate(divide="ignore"):
            out[i] = np.log(np.maximum(p, 0.0))
        tail = p <= _CANCELLATION * margins
        if needed is not None:
            tail &= needed[i]
        if tail.any():
            out[i][tail] = _tail_log_prob(-q2 * a[tail], -q3 * b[tail], q2 * q3 * rho)
    return out


def _tail_log_prob(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """``log P(X > h, Y > k)``, corr(X, Y) = rho, in log space: ``X | X > max(h, k)`` by
    Gauss-Legendre in its quantile (the tabulated half-line nodes), the other by ``log_ndtr``.
    Beyond the table (``P(X > h) < 1e-299``) the nodes are shifted with h."""
    a, b = np.maximum(h, k), np.minimum(h, k)
    _, w = unit_legendre(_TAIL_NODES)
    x = -_half_line_nodes(-a, _TAIL_NODES) + np.maximum(a - _TABLE_EDGE, 0.0)[:, None]
    gap = np.sqrt(max(1.0 - rho * rho, _MIN_GAP))
    terms = special.log_ndtr((rho * x - b[:, None]) / gap) + np.log(w)
    top = terms.max(axis=1)
    return special.log_ndtr(-a) + top + np.log(np.exp(terms - top[:, None]).sum(axis=1))


def quadrant_moments(m2, m3, S: np.ndarray, needed: Optional[np.ndarray] = None):
    """Probabilities and moments of ``(z2, z3) ~ N(m, S)`` restricted to each quadrant.

    Parameters
    ----------
    m2, m3 : arrays of one shape (...), the means.  S : (2, 2) positive definite covariance.
    needed : (4, ...) bool array, optional
        The quadrants the caller uses (:func:`quadrant_log_probs`).

    Returns
    -------
    log_p : (4, ...) log probabilities of the quadrants ``_QUADRANTS``.
    mean : (4, ..., 2) conditional means.  cov : (4, ..., 3) conditional covariance entries
    ``(S22, S23, S33)`` of the truncated law.

    Notes
    -----
    Tallis (1961) for ``v = (q2 u2, q3 u3) > h``, u standardised (correlation ``r = q2 q3
    rho``), with ``G_a = phi(h_a) Phi((r h_a - h_b) / tau) / P`` and ``G_23 = phi_2(h; r) / P``
    (``tau^2 = 1 - r^2``): ``E v_a = G_a + r G_b``; ``E v_a^2 = 1 + h_a G_a + r^2 h_b G_b +
    r tau^2 G_23``; ``E v_2 v_3 = r (1 + h_2 G_2 + h_3 G_3) + tau^2 G_23``.
    """
    sd = np.sqrt(np.diag(S))
    rho = float(S[0, 1] / (sd[0] * sd[1]))
    rho = min(max(rho, -1.0 + _MIN_GAP), 1.0 - _MIN_GAP)
    t2, t3 = m2 / sd[0], m3 / sd[1]
    log_p = quadrant_log_probs(t2, t3, rho, needed)
    tau2 = 1.0 - rho * rho  # the same for r = +-rho
    tau = np.sqrt(tau2)
    # Shared by the quadrants: with h = -q t, (r h2 - h3) / tau = q3 (t3 - rho t2) / tau.
    across2, across3 = (t3 - rho * t2) / tau, (t2 - rho * t3) / tau
    log_cond = {
        (2, 1.0): special.log_ndtr(across2),
        (2, -1.0): special.log_ndtr(-across2),
        (3, 1.0): special.log_ndtr(across3),
        (3, -1.0): special.log_ndtr(-across3),
    }
    log_phi2, log_phi3 = -0.5 * (t2 * t2 + _LOG_2PI), -0.5 * (t3 * t3 + _LOG_2PI)
    log_phi23 = -0.5 * (t2 * t2 - 2.0 * rho * t2 * t3 + t3 * t3) / tau2 - _LOG_2PI - np.log(tau)
    mean = np.empty(log_p.shape + (2,))
    cov = np.empty(log_p.shape + (3,))
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        for i, (q2, q3) in enumerate(_QUADRANTS):
            r = q2 * q3 * rho
            h2, h3 = -q2 * t2, -q3 * t3
            g2 = np.exp(log_phi2 + log_cond[2, q3] - log_p[i])
            g3 = np.exp(log_phi3 + log_cond[3, q2] - log_p[i])
            g23 = np.exp(log_phi23 - log_p[i])
            e2, e3 = g2 + r * g3, r * g2 + g3
            hg2, hg3, rg23 = h2 * g2, h3 * g3, r * tau2 * g23
            v22 = 1.0 + hg2 + r * r * hg3 + rg23 - e2 * e2
            v33 = 1.0 + hg3 + r * r * hg2 + rg23 - e3 * e3
            v23 = r * (1.0 + hg2 + hg3) + tau2 * g23 - e2 * e3
            # Back from v = q u to z = m + sd u.
            mean[i, ..., 0] = m2 + q2 * sd[0] * e2
            mean[i, ..., 1] = m3 + q3 * sd[1] * e3
            cov[i, ..., 0] = sd[0] ** 2 * v22
            cov[i, ..., 1] = q2 * q3 * sd[0] * sd[1] * v23
            cov[i, ..., 2] = sd[1] ** 2 * v33
    # A quadrant of probability zero has no moments: 0 (its weight is 0).
    dead = ~np.isfinite(log_p)
    if dead.any():
        mean[dead], cov[dead] = 0.0, 0.0
    return log_p, mean, cov


def _conditional_on_z1(omega: np.ndarray, V: np.ndarray, z1: np.ndarray):
    """Means ``m2, m3`` (shape of z1) of ``(z2, z3) | z1`` under ``N(omega, V)`` (omega (n, 3),
    z1 (n, M)) and their shared covariance S (2, 2)."""
    c = V[1:, 0] / V[0, 0]
    S = V[1:, 1:] - np.outer(V[1:, 0], V[0, 1:]) / V[0, 0]
    shift = z1 - omega[:, :1]
    return omega[:, 1:2] + c[0] * shift, omega[:, 2:3] + c[1] * shift, (S + S.T) / 2.0


def mixture_moments(log_w: np.ndarray, z1: np.ndarray, mean23: np.ndarray, cov23: np.ndarray):
    """Mean (n, 3) and summed covariance (3, 3) of a mixture, per row, of the components
    (quadrant c, node m): z1 fixed (n, M), (z2, z3) of mean (4, n, M, 2) and covariance
    entries (4, n, M, 3); log weights (4, n, M)."""
    top = log_w.max(axis=(0, 2), keepdims=True)
    p = log_w - top
    np.putmask(p, p < -_NEGLIGIBLE, -np.inf)  # no subnormal weights (see normalised)
    np.exp(p, out=p)
    p /= p.sum(axis=(0, 2), keepdims=True)
    pz = p * z1
    pm = p[..., None] * mean23
    mean = np.concatenate([pz.sum(axis=(0, 2))[:, None], pm.sum(axis=(0, 2))], axis=1)
    second = np.empty((3, 3))
    second[0, 0] = np.einsum("cnm,nm->", pz, z1)
    second[0, 1:] = second[1:, 0] = np.einsum("cnm,cnmk->k", pz, mean23)
    second[1:, 1:] = np.einsum("cnmk,cnml->kl", pm, mean23)
    within = np.einsum("cnm,cnmk->k", p, cov23)
    second[1, 1] += within[0]
    second[1, 2] += within[1]
    second[2, 1] += within[1]
    second[2, 2] += within[2]
    return mean, second - mean.T @ mean


def _check_r3(omega: np.ndarray, V: np.ndarray) -> None:
    if omega.shape[1] != 3 or V.shape != (3, 3):
        raise ValueError(f"this channel has r = 3; got omega {omega.shape}, V {V.shape}.")


class SqSign3Channel(Channel):
    """``y = z1^2 + sign(z1 z2 z3)`` (sign(0) = 1), noiseless: four atoms in z1 times
    quadrant pairs in (z2, z3); closed form, no quadrature (module docstring)."""

    def __init__(self):
        self.r, self.noise = 3, 0.0
        self.kind = "closed form (atoms in z1, bivariate orthants in z2, z3)"
        # 4 atoms x 4 quadrants per row (sizes the row blocks of g_out).
        self.n_nodes = 16

    def moments(self, omega, V, y):
        _check_r3(omega, V)
        if np.any(y < -1.0) or not np.all(np.isfinite(y)):
            raise ValueError(
                "sq_sign3 labels y = z1^2 + sign(z1 z2 z3) are finite and >= -1; got others "
                "(noisy labels need noise > 0, which this closed form does not support)."
            )
        # Atoms z1 = +-sqrt(y - s): s = +1 (present where y >= 1), then s = -1.
        root_p, root_m = np.sqrt(np.maximum(y - 1.0, 0.0)), np.sqrt(y + 1.0)
        z1 = np.stack([root_p, -root_p, root_m, -root_m], axis=1)
        s = np.array([1.0, 1.0, -1.0, -1.0])
        with np.errstate(divide="ignore"):
            log_atom = -0.5 * (z1 - omega[:, :1]) ** 2 / V[0, 0] - np.log(np.abs(z1))
        log_atom[:, :2] = np.where((y >= 1.0)[:, None], log_atom[:, :2], -np.inf)
        # At y = s exactly the atom z1 = 0 has an infinite density (1 / |a|): it takes all the
        # weight (the two atoms +-0 are one point, sign(0) = 1).
        at_zero = np.isposinf(log_atom)
        log_atom = np.where(
            at_zero.any(axis=1, keepdims=True), np.where(at_zero, 0.0, -np.inf), log_atom
        )
        # sign(z2 z3) must equal s sign(z1) (sign(0) = 1: the atom -0 counts as positive).
        wanted = s * np.where(z1 >= 0.0, 1.0, -1.0)  # (n, 4)
        q23 = (_QUADRANTS[:, 0] * _QUADRANTS[:, 1])[:, None, None]
        used = (q23 == wanted[None]) & np.isfinite(log_atom)[None]
        m2, m3, S = _conditional_on_z1(omega, V, z1)
        log_p, mean23, cov23 = quadrant_moments(m2, m3, S, used)  # (4 quadrants, n, 4 atoms)
        log_w = np.where(used, log_p + log_atom[None], -np.inf)
        return mixture_moments(log_w, z1, mean23, cov23)


class SignCommitteeChannel(Channel):
    """``y = sign(z1) + sign(z2) + sign(z3) + noise`` (sign(0) = 1): Gauss-Legendre in z1 on
    each side of 0, the four quadrants of (z2, z3) in closed form (module docstring).

    Parameters
    ----------
    noise : float >= 0
        Gaussian label-noise std; 0 for the exact labels ``{-3, -1, 1, 3}``.
    """

    #: Gauss-Legendre nodes per side of z1 = 0.
    side_nodes: int = _Z1_SIDE_NODES

    def __init__(self, noise: float = 0.0):
        self.r, self.noise = 3, float(noise)
        self.kind = "closed form in z2, z3 (bivariate orthants), Gauss-Legendre in z1"
        self.n_nodes = 8 * self.side_nodes

    def refined(self) -> "SignCommitteeChannel":
        twice = copy.copy(self)
        twice.side_nodes = 2 * self.side_nodes
        twice.n_nodes = 8 * twice.side_nodes
        return twice

    def _log_label(self, count: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log P(y | number of positive coordinates), up to a constant per row."""
        value = 2.0 * count - 3.0
        if self.noise == 0.0:
            return np.where(np.abs(y - value) < 0.5, 0.0, -np.inf)
        return -((y - value) ** 2) / (2.0 * self.noise**2)

    def moments(self, omega, V, y):
        _check_r3(omega, V)
        if self.noise == 0.0 and not np.all(np.isin(y, (-3.0, -1.0, 1.0, 3.0))):
            raise ValueError(
                "sign_committee labels are -3, -1, 1 or 3 without noise; pass the label "
                "noise to make_channel(link, noise) for other values."
            )
        t, log_w = split_normal_nodes(
            omega[:, 0], np.sqrt(V[0, 0]), 0.0, self.side_nodes, _Z1_GRADING
        )
        m2, m3, S = _conditional_on_z1(omega, V, t)
        positive = (t >= 0.0)[None] + (_QUADRANTS > 0).sum(axis=1)[:, None, None]
        log_prior = log_w[None] + self._log_label(positive, y[None, :, None])  # (4, n, M)
        used = np.isfinite(log_prior)
        log_p, mean23, cov23 = quadrant_moments(m2, m3, S, used)
        log_comp = np.where(used, log_p + log_prior, -np.inf)
        return mixture_moments(log_comp, t, mean23, cov23)
