r"""How the theory's expectations over ``(z, y)`` are computed: quadrature or Monte Carlo.

Every quantity of :mod:`mimkit.theory` is an expectation ``E[f(y)]`` or ``E[f(y) (z z^T - I)]``
with ``z ~ N(0, I_r)`` and ``y = g(z) + noise * eps``. Both methods give a
:class:`LabelSample`: points ``z`` with labels ``y`` and weights summing to 1, so the rest of
the theory is one code path (a weighted mean over the points).

* ``"quadrature"`` (r <= 3): the polar rule of :class:`mimkit._quadrature.RayRule`, its rays cut
  where the label transform ``T`` has a kink or a jump (``breaks``: ``c`` for the absolute
  loss, ``c +- delta`` for Huber, 0 for ``sign``/``modulus``, the cap of ``capped``); the
  sphere's sectors end on the coordinate hyperplanes, where ``sign(z1 z2)``-like links jump.
  Label noise adds Gauss–Legendre nodes in the normal's probability for ``eps``, cut where
  ``g(z) + noise * eps`` crosses a break. Every result is also computed at half the nodes per
  dimension; the two must agree within ``RTOL`` relative (``ATOL`` absolute), else a
  :class:`mimkit._quadrature.QuadratureWarning` says by how much they did not. The reported
  standard errors are that bound (or the larger observed difference).
* ``"monte_carlo"``: ``n_samples`` Gaussian draws (the only method for r > 3); standard errors
  by the delta method.
* ``"auto"`` (default): quadrature for r <= 3, else Monte Carlo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import optimize

from ._quadrature import RayRule, normal_pieces
from ._random import as_generator
from ._validation import check_name

#: Stated accuracy of quadrature results: |error| <= RTOL |value| + ATOL (checked at half nodes).
RTOL = 1e-2
ATOL = 1e-3
METHODS = ("auto", "quadrature", "monte_carlo")
#: Quadrature is used up to this r (the rule's size grows like nodes^r).
MAX_QUADRATURE_R = 3
#: (angular nodes per sector, radial nodes per piece, noise nodes per piece) per r, full rule.
_NODES = {1: (1, 16, 8), 2: (16, 8, 8), 3: (10, 8, 6)}
#: Probe points of the boundedness check (thresholds module docstring).
_PROBE_SCALES = (8.0, 1.0 / 8.0)
_PROBE_POINTS = 20_000
#: A label with at most this many distinct values on the rule counts as discrete.
DISCRETE_LEVELS = 64


@dataclass(frozen=True, eq=False)
class LabelSample:
    """Points of ``(z, y)`` with weights: a Monte Carlo sample or a quadrature rule.

    Attributes
    ----------
    z : (N, r) array.  y : (N,) array.  weights : (N,) array, summing to 1.
    probe_y : (P,) labels at inputs scaled by 8 and 1/8 (the boundedness check).
    method : "quadrature" or "monte_carlo".
    size : int, the Monte Carlo sample size or the number of nodes.
    """

    z: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    probe_y: np.ndarray
    method: str

    @property
    def size(self) -> int:
        return int(self.y.size)

    @property
    def is_quadrature(self) -> bool:
        return self.method == "quadrature"

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Weighted mean over the points (axis 0)."""
        return self.weights @ values

    def stderr(self, values: np.ndarray) -> float:
        """Standard error of the mean of ``values`` (n,): Monte Carlo's; quadrature's stated
        bound ``RTOL |mean| + ATOL``."""
        if self.is_quadrature:
            return RTOL * abs(float(self.mean(values))) + ATOL
        return float(np.std(values) / np.sqrt(values.size))

    def quantile(self, values: np.ndarray, q: float) -> float:
        """Weighted ``q``-quantile of ``values`` (n,)."""
        if not self.is_quadrature:
            return float(np.quantile(values, q))
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(self.weights[order])
        return float(values[order][min(np.searchsorted(cum, q * cum[-1]), values.size - 1)])


def resolve_method(method: str, r: int) -> str:
    """``"quadrature"`` or ``"monte_carlo"`` for ``method`` in :data:`METHODS` at this r."""
    check_name(method, "method", METHODS)
    if method == "auto":
        return "quadrature" if r <= MAX_QUADRATURE_R else "monte_carlo"
    if method == "quadrature" and r > MAX_QUADRATURE_R:
        raise ValueError(
            f"method='quadrature' supports r <= {MAX_QUADRATURE_R}, got r = {r}; use "
            "method='monte_carlo' (or 'auto')."
        )
    return method


def labels(link, z: np.ndarray, noise: float, rng, check: bool = True) -> np.ndarray:
    """``g(z) + noise * eps`` as float64, checked finite."""
    y = np.asarray(link(z), dtype=np.float64)
    if noise > 0:
        y = y + noise * rng.standard_normal(y.shape[0])
    if check and not np.isfinite(y).all():
        raise ValueError(f"link {link.name!r} produced NaN or inf labels on Gaussian inputs.")
    return y


def monte_carlo_sample(link, noise: float, n_samples: int, random_state) -> LabelSample:
    """``n_samples`` Gaussian draws of ``(z, y)`` with uniform weights."""
    rng = as_generator(random_state)
    z = rng.standard_normal((n_samples, link.r))
    y = labels(link, z, noise, rng)
    m = min(n_samples, _PROBE_POINTS)
    probe_z = np.concatenate([z[:m] * s for s in _PROBE_SCALES])
    with np.errstate(all="ignore"):
        probe_y = labels(link, probe_z, noise, rng, check=False)
    return LabelSample(z, y, np.full(n_samples, 1.0 / n_samples), probe_y, "monte_carlo")


class QuadratureLaw:
    """Quadrature rules of ``(z, y)`` for one link and noise level, cut at any breaks.

    Parameters
    ----------
    link : Link (r <= 3).  noise : float.
    fraction : 1.0 for the full rule, 0.5 for the half rule of the convergence check.
    """

    def __init__(self, link, noise: float, fraction: float = 1.0):
        n_angle, n_radial, n_noise = _NODES[link.r]
        self.link, self.noise = link, float(noise)
        self.n_noise = max(2, int(round(n_noise * fraction)))

        def checked(z):
            return labels(link, z, 0.0, None)

        self.rays = RayRule(
            checked,
            link.r,
            max(1, int(round(n_angle * fraction))),
            max(2, int(round(n_radial * fraction))),
        )
        self._cache: dict = {}

    def sample(self, breaks=()) -> LabelSample:
        """The rule with the label levels ``breaks`` on piece boundaries (cached per breaks)."""
        breaks = tuple(sorted({float(b) for b in breaks if np.isfinite(b)}))
        if breaks in self._cache:
            return self._cache[breaks]
        if self.noise > 0:
            z, w = self.rays.nodes()
            g = self.link(z)
            splits = (np.array(breaks)[None, :] - g[:, None]) / self.noise
            eps, v = normal_pieces(splits if breaks else np.zeros((g.size, 0)), self.n_noise)
            per = eps.shape[1]
            y = (g[:, None] + self.noise * eps).ravel()
            weights = (w[:, None] * v).ravel()
            z = np.repeat(z, per, axis=0)
        else:
            z, weights = self.rays.nodes(breaks)
            y = np.asarray(self.link(z), dtype=np.float64)
        weights = weights / weights.sum()
        step = max(1, z.shape[0] // _PROBE_POINTS)
        probe_z = np.concatenate([z[::step] * s for s in _PROBE_SCALES])
        with np.errstate(all="ignore"):
            probe_y = np.asarray(self.link(probe_z), dtype=np.float64)
        out = LabelSample(z, y, weights, probe_y, "quadrature")
        self._cache[breaks] = out
        return out


def preprocessing_breaks(preprocessing) -> tuple:
    """Label values where a preprocessing is not smooth: a name's (as
    :func:`mimkit.preprocessing.make_preprocessing` lists them), or a callable's attribute
    ``breaks``; a callable without it is taken as smooth."""
    if isinstance(preprocessing, str):
        from .preprocessing import make_preprocessing  # the transforms know their kinks

        preprocessing = make_preprocessing(preprocessing)
    return tuple(getattr(preprocessing, "breaks", ()))


def quadrature_location(law: QuadratureLaw, loss: str, huber_delta: float) -> float:
    """The population offset ``c`` of ``loss`` (mean, median, Huber location) by quadrature.

    The median solves ``P(y <= c) = 1/2`` and the Huber location ``E clip(y - c) = 0``, each
    evaluated on the rule cut at the current ``c`` (so the step or the kinks fall on piece
    boundaries) and solved by Brent's method from the uncut rule's estimate. For discrete
    labels the atoms are exact: a median inside a gap between atoms is the gap's middle.
    """
    base = law.sample()
    if loss == "squared":
        return float(base.mean(base.y))
    atoms, inverse = np.unique(base.y, return_inverse=True)
    if law.noise == 0 and atoms.size <= DISCRETE_LEVELS:
        mass = np.bincount(inverse, weights=base.weights)
        if loss == "absolute":
            cum = np.cumsum(mass)
            k = int(np.searchsorted(cum, 0.5 - 1e-12))
            tie = abs(cum[k] - 0.5) <= 1e-12 and k + 1 < atoms.size
            return float(0.5 * (atoms[k] + atoms[k + 1]) if tie else atoms[k])
        return _solve(lambda c: mass @ np.clip(atoms - c, -huber_delta, huber_delta), atoms)

    from .preprocessing import loss_transform  # its breaks: where T is not smooth

    def equation(c):
        s = law.sample(loss_transform(loss, c, huber_delta).breaks)
        if loss == "absolute":
            return 0.5 - float(s.weights @ (s.y <= c))
        return float(s.mean(np.clip(s.y - c, -huber_delta, huber_delta)))

    return _solve(equation, base.y, start=_rough_location(base, loss, huber_delta))


def _rough_location(sample: LabelSample, loss: str, huber_delta: float) -> float:
    if loss == "absolute":
        return sample.quantile(sample.y, 0.5)
    return _solve(lambda c: sample.mean(np.clip(sample.y - c, -huber_delta, huber_delta)), sample.y)


def _solve(equation, y: np.ndarray, start: Optional[float] = None) -> float:
    """Root of a decreasing ``equation(c)`` within the labels' range, bracketed around start."""
    lo, hi = float(y.min()), float(y.max())
    if lo == hi:
        return lo
    if start is not None:
        step = 1e-3 * (hi - lo)
        a, b = max(lo, start - step), min(hi, start + step)
        while equation(a) < 0 and a > lo:
            a = max(lo, a - 8 * (b - a))
        while equation(b) > 0 and b < hi:
            b = min(hi, b + 8 * (b - a))
        lo, hi = a, b
    return float(optimize.brentq(equation, lo, hi, xtol=1e-12 * max(1.0, abs(hi - lo))))


def half_rule(law: QuadratureLaw) -> QuadratureLaw:
    """The same law at half the nodes per dimension (the convergence check's reference)."""
    return QuadratureLaw(law.link, law.noise, 0.5)


def sample_for(
    method: str, link, noise: float, n_samples: int, rng, law: Optional[QuadratureLaw], breaks
) -> LabelSample:
    """The Monte Carlo sample, or the quadrature rule cut at ``breaks``."""
    if method == "monte_carlo":
        return monte_carlo_sample(link, noise, n_samples, rng)
    assert law is not None
    return law.sample(breaks)
