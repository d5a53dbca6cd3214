r"""Output channels with closed forms (or exact in all but one coordinate).

* :class:`RadialChannel`, ``y = c |z|^2 + b`` noiseless, r <= 3 (phase retrieval ``y = z^2``,
  ``he2_sum``, ``norm2``): the posterior lives on the sphere ``|z| = rho``,
  ``rho^2 = (y - b) / c``. For r = 1 it is two points, ``E[z] = rho tanh(rho omega / V)``; for
  r = 2 a von Mises-like law on the circle, integrated by the trapezoid rule in a smoothly
  warped angle that packs the nodes around its modes (spectrally accurate for a periodic
  analytic integrand, however peaked the law). For r = 3 the law on the sphere is
  ``exp(rho b.u - rho^2 u^T P u / 2)`` (``b = P omega``, ``P = V^{-1}``): around the pole
  ``b / |b|`` its von Mises-Fisher part ``exp(rho b.u)`` is integrated exactly in the polar
  cosine (Gauss-Legendre, or Gauss-Laguerre where it is concentrated), the azimuth by the
  trapezoid rule, and the anisotropic rest of the quadratic term is a smooth weight (V is
  close to isotropic in GAMP and exactly so in the state evolution of a symmetric link;
  1e-7 against a fine grid at V eigenvalues 0.3, 0.5, 0.8).
* :class:`ConditionalGaussianChannel`, ``y = z1 (z2 + a0) + noise`` (``z1z2``: a0 = 0,
  ``z1_plus_z1z2``: a0 = 1): given z2, z1 is Gaussian and y linear in it, so z1 is integrated
  exactly, noiseless or not; z2 by Gauss–Legendre on each side of ``z2 = -a0``.
* :class:`SignProductChannel`, ``y = sign(z1 z2) + noise``: given z2, the event
  ``sign(z1) = e`` is a truncated normal (moments by ``Phi`` and the inverse Mills ratio);
  z2 as above, split at 0.
* r = 3: ``sq_sign3`` (noiseless) and ``sign_committee`` (noiseless or not), in
  :mod:`mimkit.amp.closed_forms3`.
"""

from __future__ import annotations

import copy
from typing import Optional

import numpy as np

from .._native import native
from ..links import Link
from ._quadrature import (
    _NEGLIGIBLE,
    _TABLE_EDGE,
    _TABLE_STEP,
    half_line_rule,
    normalised,
    unit_legendre,
)
from .channel import Channel, mean_jacobian, precision_of, row_moments
from .closed_forms3 import SignCommitteeChannel, SqSign3Channel

#: Gauss–Legendre nodes per side for the conditioning coordinate z2.
_SIDE_NODES = 48
#: Trapezoid nodes on the circle, and the coarse grid that locates the posterior's mode.
_ANGLES, _COARSE = 256, 64
#: Sphere (r = 3): Gauss-Legendre nodes in the polar probability, trapezoid nodes in azimuth.
_POLAR, _AZIMUTH = 24, 16
#: Concentration from which the polar rule is Gauss-Laguerre (below: Gauss-Legendre).
_LAGUERRE_FROM = 30.0


class RadialChannel(Channel):
    """``y = scale * |z|^2 + shift``, noiseless, r in {1, 2, 3}."""

    def __init__(self, r: int, scale: float, shift: float):
        if r not in (1, 2, 3):
            raise ValueError(f"RadialChannel supports r = 1, 2 or 3, got r={r}.")
        self.r, self.noise, self.scale, self.shift = r, 0.0, float(scale), float(shift)
        self.kind = {
            1: "closed form (two points)",
            2: "closed form (circle, warped Gauss-Legendre)",
            3: "closed form (sphere, von Mises-Fisher polar rule x trapezoid)",
        }[r]
        self.n_nodes = {1: 2, 2: _ANGLES, 3: _POLAR * _AZIMUTH}[r]

    def moments(self, omega, V, y):
        rho = np.sqrt(np.maximum((y - self.shift) / self.scale, 0.0))
        if self.r == 1:
            mean = rho * np.tanh(rho * omega[:, 0] / V[0, 0])
            return mean[:, None], np.array([[np.sum(rho**2 - mean**2)]])
        P = np.linalg.inv(V)
        P = (P + P.T) / 2.0
        b = omega @ P
        if self.r == 3:
            return _sphere_moments(rho, b, P)
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


def _sphere_moments(rho: np.ndarray, b: np.ndarray, P: np.ndarray):
    """Moments of ``z = rho u``, u on the unit sphere with density ``exp(rho b.u - rho^2 u^T P
    u / 2)`` (module docstring). Shapes: rho (n,), b (n, 3), P (3, 3).

    Each row works in its frame ``R = [pole, e1, e2]``, where ``u = R c`` with local
    coordinates ``c = (t, s cos phi, s sin phi)``, ``s = sqrt(1 - t^2)``.
    """
    norm_b = np.linalg.norm(b, axis=1)
    t, log_w = _polar_nodes(rho * norm_b)
    pole = np.zeros_like(b)
    pole[:, 2] = 1.0
    has_pole = norm_b > 0
    pole[has_pole] = b[has_pole] / norm_b[has_pole, None]
    # e1 from the axis least aligned with the pole; e2 completes a right-handed frame.
    axis = np.eye(3)[np.argmin(np.abs(pole), axis=1)]
    e1 = axis - np.sum(axis * pole, axis=1, keepdims=True) * pole
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    R = np.stack([pole, e1, np.cross(pole, e1)], axis=2)  # (n, 3, 3), columns the frame
    # The isotropic part of P is constant on the sphere: only the rest weighs the nodes.
    aniso = P - np.linalg.eigvalsh(P)[0] * np.eye(3)
    local = np.einsum("nki,kl,nlj->nij", R, aniso, R) * (-0.5 * rho * rho)[:, None, None]
    phi = 2.0 * np.pi * (np.arange(_AZIMUTH) + 0.5) / _AZIMUTH
    s = np.sqrt(np.maximum(1.0 - t * t, 0.0))
    n, m = t.shape[0], _POLAR * _AZIMUTH
    c = np.empty((3, n, m))
    c[0] = np.repeat(t, _AZIMUTH, axis=1)
    c[1] = (s[:, :, None] * np.cos(phi)).reshape(n, m)
    c[2] = (s[:, :, None] * np.sin(phi)).reshape(n, m)
    log_p = np.repeat(log_w, _AZIMUTH, axis=1)
    for i in range(3):
        for j in range(i, 3):
            log_p += (local[:, i, j] * (1.0 if i == j else 2.0))[:, None] * (c[i] * c[j])
    p = normalised(log_p)
    pc = p[None] * c
    mean_local = pc.sum(axis=2).T  # (n, 3)
    second_local = np.einsum("inm,jnm->nij", pc, c)
    cov_local = second_local - mean_local[:, :, None] * mean_local[:, None, :]
    rho2 = (rho * rho)[:, None, None]
    mean = rho[:, None] * np.einsum("nij,nj->ni", R, mean_local)
    cov = np.einsum("nij,njk,nlk->il", R, rho2 * cov_local, R)
    return mean, cov


def _polar_nodes(kappa: np.ndarray):
    """Nodes t (n, _POLAR) and log weights for ``E f(t)``, t in [-1, 1] with density
    ``~ exp(kappa t)``: Gauss-Legendre in t (weights times exp(kappa (t - 1))) up to
    ``_LAGUERRE_FROM``, where that rule still resolves the exponential to machine precision;
    beyond, Gauss-Laguerre in ``kappa (1 - t)`` (the mass it leaves out below t = -1 is
    ``exp(-2 kappa)``), so any concentration is exact for polynomial f."""
    x, w = np.polynomial.legendre.leggauss(_POLAR)
    lx, lw = np.polynomial.laguerre.laggauss(_POLAR)
    k = np.maximum(kappa, 1e-300)[:, None]
    big = k > _LAGUERRE_FROM
    t = np.where(big, 1.0 - lx[None, :] / k, x[None, :])
    with np.errstate(divide="ignore"):
        log_w = np.where(big, np.log(lw)[None, :], np.log(w)[None, :] + k * (x[None, :] - 1.0))
    log_w = np.where(t < -1.0, -np.inf, log_w)
    return np.maximum(t, -1.0), log_w


class _ConditionalOnZ2(Channel):
    """Shared part: z2 ~ N(omega2, V22) by split quadrature, z1 | z2 ~ N(m, s2) integrated
    exactly by the channel's likelihood.

    :meth:`moments` runs in the compiled core (``cpp/amp_channel.hpp``) with the nodes of
    :func:`~mimkit.amp._quadrature.split_normal_nodes` (the same table) and a cutoff of
    negligible weights, threaded over rows (the summed covariance is the same bits on any number
    of threads); it centres each row's second moments before summing them, and gives a node
    whose likelihood or conditional mean is not finite (on the split of a noiseless channel)
    weight 0. Its numpy twin is the tests' reference (``tests/_amp_reference.py``).
    """

    split: float
    #: Gauss-Legendre nodes per side of the split.
    side_nodes: int = _SIDE_NODES
    row_blocks = False
    #: The core's functions are ``<_core_name>_moments`` and ``<_core_name>_gamp_pass``.
    _core_name: str

    def refined(self) -> "_ConditionalOnZ2":
        twice = copy.copy(self)
        twice.side_nodes = 2 * self.side_nodes
        twice.n_nodes = 2 * twice.side_nodes
        return twice

    def moments(self, omega, V, y):
        return getattr(native, self._core_name + "_moments")(
            np.ascontiguousarray(omega, dtype=np.float64),
            np.ascontiguousarray(V, dtype=np.float64),
            np.ascontiguousarray(y, dtype=np.float64),
            *self._rule(),
            0,
        )

    def gamp_pass(self, X, y, W, C, g, damping: float):
        """:meth:`Channel.gamp_pass` in one pass of the core, which reads each cache-sized chunk
        of rows once, for a C-ordered float64 X (any other X: the two BLAS products)."""
        if X.dtype != np.float64 or not X.flags.c_contiguous:
            return super().gamp_pass(X, y, W, C, g, damping)
        W, g, y, C = (np.ascontiguousarray(a, dtype=np.float64) for a in (W, g, y, C))
        P = precision_of(C)
        g, back, cov, power = getattr(native, self._core_name + "_gamp_pass")(
            X, W, g, y, C, P, damping, *self._rule(), 0, 0
        )
        return g, back, mean_jacobian(P, cov, X.shape[0]), power

    def _rule(self) -> tuple:
        """The core's arguments that describe this channel's rule (after the data): the table,
        its log weights, edge and step, the channel's constants, the negligible-weight cutoff."""
        table, side_log_weights = half_line_rule(self.side_nodes)
        return (table, side_log_weights, _TABLE_EDGE, _TABLE_STEP, *self._constants(), _NEGLIGIBLE)

    def _constants(self) -> tuple[float, ...]:
        """The channel's constants, in the order of its core functions' arguments."""
        raise NotImplementedError


class ConditionalGaussianChannel(_ConditionalOnZ2):
    """``y = z1 (z2 + a0) + noise``: z1 exact given z2."""

    _core_name = "conditional_gaussian"

    def __init__(self, a0: float, noise: float):
        self.r, self.noise, self.a0, self.split = 2, float(noise), float(a0), -float(a0)
        self.kind = "closed form in z1, Gauss-Legendre in z2"
        self.n_nodes = 2 * _SIDE_NODES

    def _constants(self) -> tuple[float, ...]:
        return (self.a0, self.noise)


class SignProductChannel(_ConditionalOnZ2):
    """``y = sign(z1 z2) + noise`` (sign(0) = 1): truncated normals in z1 given z2."""

    _core_name = "sign_product"

    def __init__(self, noise: float):
        self.r, self.noise, self.split = 2, float(noise), 0.0
        self.kind = "closed form in z1 (truncated normal), Gauss-Legendre in z2"
        self.n_nodes = 2 * _SIDE_NODES

    def _constants(self) -> tuple[float, ...]:
        return (self.noise,)


def closed_form_channel(link: Link, noise: float) -> Optional[Channel]:
    """The closed-form channel of a library link, or None (then quadrature is used)."""
    if not link.in_core:
        return None
    if link.name in ("norm2", "he2_sum") and link.r <= 3 and noise == 0.0:
        if link.name == "norm2":
            return RadialChannel(link.r, 1.0 / link.r, 0.0)
        return RadialChannel(link.r, 1.0, -float(link.r))
    if link.name == "z1z2":
        return ConditionalGaussianChannel(0.0, noise)
    if link.name == "z1_plus_z1z2":
        return ConditionalGaussianChannel(1.0, noise)
    if link.name == "sign_z1z2":
        return SignProductChannel(noise)
    if link.name == "sq_sign3" and noise == 0.0:
        return SqSign3Channel()
    if link.name == "sign_committee":
        return SignCommitteeChannel(noise)
    return None
