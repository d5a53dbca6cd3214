r"""Output channels with closed forms (or exact in all but one coordinate).

* :class:`RadialChannel`, ``y = c |z|^2 + b`` noiseless, r <= 2 (phase retrieval ``y = z^2``,
  ``he2_sum``, ``norm2``): the posterior lives on the sphere ``|z| = rho``,
  ``rho^2 = (y - b) / c``. For r = 1 it is two points, ``E[z] = rho tanh(rho omega / V)``; for
  r = 2 a von Mises-like law on the circle, integrated by the trapezoid rule in a smoothly
  warped angle that packs the nodes around its modes (spectrally accurate for a periodic
  analytic integrand, however peaked the law).
* :class:`ConditionalGaussianChannel`, ``y = z1 (z2 + a0) + noise`` (``z1z2``: a0 = 0,
  ``z1_plus_z1z2``: a0 = 1): given z2, z1 is Gaussian and y linear in it, so z1 is integrated
  exactly, noiseless or not; z2 by Gauss–Legendre on each side of ``z2 = -a0``.
* :class:`SignProductChannel`, ``y = sign(z1 z2) + noise``: given z2, the event
  ``sign(z1) = e`` is a truncated normal (moments by ``Phi`` and the inverse Mills ratio);
  z2 as above, split at 0.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import special

from ..links import Link
from ._quadrature import normalised, split_normal_nodes, unit_legendre
from .channel import Channel, row_moments

#: Gauss–Legendre nodes per side for the conditioning coordinate z2.
_SIDE_NODES = 48
#: Trapezoid nodes on the circle, and the coarse grid that locates the posterior's mode.
_ANGLES, _COARSE = 256, 64


class RadialChannel(Channel):
    """``y = scale * |z|^2 + shift``, noiseless, r in {1, 2}."""

    def __init__(self, r: int, scale: float, shift: float):
        if r not in (1, 2):
            raise ValueError(f"RadialChannel supports r = 1 or 2, got r={r}.")
        self.r, self.noise, self.scale, self.shift = r, 0.0, float(scale), float(shift)
        self.kind = (
            "closed form (two points)" if r == 1 else "closed form (circle, warped Gauss-Legendre)"
        )
        self.n_nodes = 2 if r == 1 else _ANGLES

    def moments(self, omega, V, y):
        rho = np.sqrt(np.maximum((y - self.shift) / self.scale, 0.0))
        if self.r == 1:
            mean = rho * np.tanh(rho * omega[:, 0] / V[0, 0])
            return mean[:, None], np.array([[np.sum(rho**2 - mean**2)]])
        P = np.linalg.inv(V)
        P = (P + P.T) / 2.0
        b = omega @ P
        theta, log_w = _circle_nodes(*_circle_modes(rho, b, P))
        c, sn = np.cos(theta), np.sin(theta)
        p = normalised(_circle_log_density(rho[:, None], b, P, c, sn) + log_w)
        z = rho[:, None, None] * np.stack([c, sn], axis=2)
        return row_moments(p, z)


def _circle_nodes(modes: np.ndarray, widths: np.ndarray):
    """Nodes and log weights on the circle, per row: the circle is cut midway between the two
    modes into two arcs; on each, ``theta = mode + w sinh(s)`` (nodes packed where the peak
    is, spread where it is not) and Gauss–Legendre in s, so a peak of any width is resolved
    and the integrand stays smooth (no truncation: the arcs tile the circle)."""
    m1, m2 = modes[:, 0], modes[:, 0] + np.mod(modes[:, 1] - modes[:, 0], 2.0 * np.pi)
    cut1 = (m1 + m2) / 2.0
    cut0 = cut1 - np.pi
    x, w = unit_legendre(_ANGLES // 2)
    thetas, logs = [], []
    for mode, width, lo, hi in (
        (m1, widths[:, 0], cut0, cut1),
        (m2, widths[:, 1], cut1, cut0 + 2.0 * np.pi),
    ):
        width = np.minimum(width, (hi - lo) / 4.0)[:, None]
        s_lo = np.arcsinh((lo - mode)[:, None] / width)
        s_hi = np.arcsinh((hi - mode)[:, None] / width)
        s = s_lo + (s_hi - s_lo) * x[None, :]
        thetas.append(mode[:, None] + width * np.sinh(s))
        logs.append(np.log(w[None, :] * (s_hi - s_lo) * width * np.cosh(s)))
    return np.concatenate(thetas, axis=1), np.concatenate(logs, axis=1)


def _circle_log_density(rho, b, P, c, sn):
    """log N(rho u; omega, V) up to a constant, u = (c, sn): rho u.b - rho^2 u^T P u / 2."""
    lin = rho * (b[:, :1] * c + b[:, 1:] * sn)
    quad = P[0, 0] * c * c + 2.0 * P[0, 1] * c * sn + P[1, 1] * sn * sn
    return lin - 0.5 * rho * rho * quad


def _circle_modes(rho, b, P):
    """Per row, the two highest local maxima of the log density f on the circle (coarse grid,
    then Newton; the second is the first + pi where f has one) and the widths
    ``1 / sqrt(-f'')`` there (2 pi where f is flat)."""
    grid = 2.0 * np.pi * np.arange(_COARSE) / _COARSE
    f = _circle_log_density(rho[:, None], b, P, np.cos(grid)[None, :], np.sin(grid)[None, :])
    peak = (f >= np.roll(f, 1, axis=1)) & (f >= np.roll(f, -1, axis=1))
    ranked = np.argsort(np.where(peak, -f, np.inf), axis=1)[:, :2]
    second_is_peak = np.take_along_axis(peak, ranked[:, 1:], axis=1)[:, 0]
    theta = grid[ranked]
    theta[:, 1] = np.where(second_is_peak, theta[:, 1], theta[:, 0] + np.pi)
    r, b0, b1 = rho[:, None], b[:, :1], b[:, 1:]
    dP, p12 = P[1, 1] - P[0, 0], P[0, 1]
    for _ in range(4):
        c, sn = np.cos(theta), np.sin(theta)
        d1 = r * (-b0 * sn + b1 * c) - r**2 * (dP * c * sn + p12 * (c * c - sn * sn))
        d2 = r * (-b0 * c - b1 * sn) - r**2 * (dP * (c * c - sn * sn) - 4.0 * p12 * c * sn)
        step = np.where(d2 < 0, d1 / np.where(d2 < 0, d2, -1.0), 0.0)
        theta = theta - np.clip(step, -np.pi / _COARSE, np.pi / _COARSE)
    width = np.where(d2 < 0, 1.0 / np.sqrt(np.maximum(-d2, 1e-300)), 2.0 * np.pi)
    return theta, np.minimum(width, 2.0 * np.pi)


class _ConditionalOnZ2(Channel):
    """Shared part: z2 ~ N(omega2, V22) by split quadrature, z1 | z2 ~ N(m, s2)."""

    split: float

    def moments(self, omega, V, y):
        sd2 = np.sqrt(V[1, 1])
        c, s2 = V[0, 1] / V[1, 1], V[0, 0] - V[0, 1] ** 2 / V[1, 1]
        t, logw = split_normal_nodes(omega[:, 1], sd2, self.split, _SIDE_NODES)
        m = omega[:, :1] + c * (t - omega[:, 1:])
        with np.errstate(divide="ignore", invalid="ignore"):
            loglik, mu1, second1 = self._given_z2(t, m, s2, y[:, None])
        # Nodes of a side with probability zero sit on the split, where the likelihood may be
        # singular: their weight is zero whatever it says.
        live = np.isfinite(logw)
        p = normalised(np.where(live, logw + loglik, -np.inf))
        mu1, second1 = np.where(live, mu1, 0.0), np.where(live, second1, 0.0)
        z = np.stack([mu1, t], axis=2)
        mean, cov = row_moments(p, z)
        # row_moments counted E[z1^2 | z2] as mu1^2: add the conditional variance of z1.
        cov[0, 0] += np.sum(p * (second1 - mu1**2))
        return mean, cov

    def _given_z2(self, t, m, s2, y):
        """log P(y | z2), E[z1 | z2, y], E[z1^2 | z2, y], each (n, nodes)."""
        raise NotImplementedError


class ConditionalGaussianChannel(_ConditionalOnZ2):
    """``y = z1 (z2 + a0) + noise``: z1 exact given z2."""

    def __init__(self, a0: float, noise: float):
        self.r, self.noise, self.a0, self.split = 2, float(noise), float(a0), -float(a0)
        self.kind = "closed form in z1, Gauss-Legendre in z2"
        self.n_nodes = 2 * _SIDE_NODES

    def _given_z2(self, t, m, s2, y):
        a = t + self.a0
        tau2 = a * a * s2 + self.noise**2
        resid = y - a * m
        loglik = -0.5 * np.log(tau2) - resid**2 / (2.0 * tau2)
        mu1 = m + s2 * a * resid / tau2
        return loglik, mu1, mu1**2 + s2 * self.noise**2 / tau2


class SignProductChannel(_ConditionalOnZ2):
    """``y = sign(z1 z2) + noise`` (sign(0) = 1): truncated normals in z1 given z2."""

    def __init__(self, noise: float):
        self.r, self.noise, self.split = 2, float(noise), 0.0
        self.kind = "closed form in z1 (truncated normal), Gauss-Legendre in z2"
        self.n_nodes = 2 * _SIDE_NODES

    def _log_label(self, s: float, y: np.ndarray) -> np.ndarray:
        """log P(y | sign(z1 z2) = s), up to a constant in s."""
        if self.noise == 0.0:
            return np.where(np.where(y >= 0, 1.0, -1.0) == s, 0.0, -np.inf)
        return -((y - s) ** 2) / (2.0 * self.noise**2)

    def _given_z2(self, t, m, s2, y):
        sd1 = np.sqrt(s2)
        side = np.where(t >= 0, 1.0, -1.0)
        logs, means, seconds = [], [], []
        for e in (1.0, -1.0):  # the sign of z1
            a = e * m / sd1
            log_mass = special.log_ndtr(a)
            lam = np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - log_mass)
            mean = m + e * sd1 * lam
            var = np.maximum(s2 * (1.0 - lam * (lam + a)), 0.0)
            label = np.where(side > 0, self._log_label(e, y), self._log_label(-e, y))
            logs.append(label + log_mass)
            means.append(mean)
            seconds.append(var + mean**2)
        logs = np.stack(logs)
        loglik = np.logaddexp(logs[0], logs[1])
        with np.errstate(invalid="ignore"):
            w = np.exp(logs - loglik)
        w = np.nan_to_num(w)
        return loglik, w[0] * means[0] + w[1] * means[1], w[0] * seconds[0] + w[1] * seconds[1]


def closed_form_channel(link: Link, noise: float) -> Optional[Channel]:
    """The closed-form channel of a library link, or None (then quadrature is used)."""
    if not link.in_core:
        return None
    if link.name in ("norm2", "he2_sum") and link.r <= 2 and noise == 0.0:
        if link.name == "norm2":
            return RadialChannel(link.r, 1.0 / link.r, 0.0)
        return RadialChannel(link.r, 1.0, -float(link.r))
    if link.name == "z1z2":
        return ConditionalGaussianChannel(0.0, noise)
    if link.name == "z1_plus_z1z2":
        return ConditionalGaussianChannel(1.0, noise)
    if link.name == "sign_z1z2":
        return SignProductChannel(noise)
    return None
