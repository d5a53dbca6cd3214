r"""How the theory's expectations over ``(z, y)`` are computed: quadrature or Monte Carlo.

Every quantity of :mod:`mimkit.theory` is an expectation ``E[f(y)]`` or ``E[f(y) (z z^T - I)]``
with ``z ~ N(0, I_r)`` and ``y = g(z) + noise * eps``. Both methods give a
:class:`LabelSample`: points ``z`` with labels ``y`` and weights summing to 1, so the rest of
the theory is one code path (a weighted mean over the points). The details and the accuracy:
docs/theory.md, "How expectations are computed".

* ``"quadrature"``: the polar rule of :class:`mimkit._quadrature.RayRule`, its rays cut where
  the label transform ``T`` has a kink or a jump (its ``breaks``: ``c`` for the absolute loss,
  ``c +- delta`` for Huber, 0 for ``sign``/``modulus``, the cap of ``capped``); the sphere's
  sectors end on the coordinate hyperplanes, where ``sign(z1 z2)``-like links jump. Label
  noise makes ``eps`` one more coordinate of the rule, so ``g(z) + noise * eps`` is cut at the
  breaks like a noiseless label. Every result is also computed at half the nodes per
  dimension; the two must agree within ``RTOL`` relative plus ``ATOL`` absolute, else a
  :class:`mimkit._quadrature.QuadratureWarning` says by how much they did not. The reported
  standard errors are that bound (or the larger observed difference).
* ``"monte_carlo"``: ``n_samples`` Gaussian draws; standard errors by the delta method.
* ``"auto"`` (default): quadrature for noiseless labels with r <= 3 and noisy ones with
  r = 1, else Monte Carlo: a noisy label with r = 2 needs a 3-dimensional rule, and those
  converge too slowly for the stated tolerance where rays cross a level twice.
  ``method="quadrature"`` still runs them (up to 3 dimensions, with the check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import optimize

from ._quadrature import RayRule, best_pole
from ._random import as_generator
from ._validation import check_name

#: Stated accuracy of quadrature results: |error| <= RTOL |value| + ATOL (checked at half nodes).
RTOL = 1e-2
ATOL = 1e-3
METHODS = ("auto", "quadrature", "monte_carlo")
#: Quadrature is used up to this dimension, r plus one with noise (the rule grows like nodes^r).
MAX_QUADRATURE_DIM = 3
#: (angular nodes per sector, radial nodes per piece) per dimension, full rule.
_NODES = {1: (1, 16), 2: (16, 8), 3: (6, 6)}
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
        """Weighted mean over the points (axis 0).

        A product and a sum, not ``weights @ values``: a BLAS dot product of one long vector
        may start threads, which costs far more than the sum on a busy machine.
        """
        values = np.asarray(values)
        weights = self.weights.reshape((-1,) + (1,) * (values.ndim - 1))
        return np.sum(weights * values, axis=0)

    def stderr(self, values: np.ndarray) -> float:
        """Standard error of the mean of ``values`` (n,): Monte Carlo's; quadrature's stated
        bound ``RTOL |mean| + ATOL``."""
        if self.is_quadrature:
            return RTOL * abs(float(self.mean(values))) + ATOL
        return float(np.std(values) / np.sqrt(values.size))

    def quantile(self, values: np.ndarray, q):
        """Weighted ``q``-quantile(s) of ``values`` (n,): a float, or an array for an array q."""
        if not self.is_quadrature:
            return np.quantile(values, q) if np.ndim(q) else float(np.quantile(values, q))
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(self.weights[order])
        at = np.minimum(np.searchsorted(cum, np.asarray(q) * cum[-1]), values.size - 1)
        found = values[order][at]
        return found if np.ndim(q) else float(found)


def resolve_method(method: str, r: int, noise: float = 0.0) -> str:
    """``"quadrature"`` or ``"monte_carlo"`` for ``method`` in :data:`METHODS` at this r and
    noise (label noise is one more dimension of the rule)."""
    check_name(method, "method", METHODS)
    dim = quadrature_dimension(r, noise)
    if method == "auto":
        return "quadrature" if dim <= (MAX_QUADRATURE_DIM if noise == 0 else 2) else "monte_carlo"
    if method == "quadrature" and dim > MAX_QUADRATURE_DIM:
        raise ValueError(
            f"method='quadrature' supports r <= {MAX_QUADRATURE_DIM} (r <= "
            f"{MAX_QUADRATURE_DIM - 1} with label noise), got r = {r}, noise = {noise:g}; use "
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

    With noise, ``eps`` is one more Gaussian coordinate: the rule runs in ``r + 1`` dimensions
    on ``(z, eps) -> g(z) + noise * eps``, so the breaks cut it exactly as without noise.

    Parameters
    ----------
    link : Link.  noise : float (``r + (noise > 0) <= 3``).
    fraction : 1.0 for the full rule, 0.5 for the half rule of the convergence check.
    pole : the polar axis of a 3-dimensional rule (None: :func:`mimkit._quadrature.best_pole`).
    """

    def __init__(self, link, noise: float, fraction: float = 1.0, pole: Optional[int] = None):
        self.link, self.noise, self.fraction = link, float(noise), float(fraction)
        self.dim = quadrature_dimension(link.r, self.noise)
        n_angle, n_radial = _NODES[self.dim]
        r = link.r

        def label(points):
            y = labels(link, points[:, :r], 0.0, None)
            return y + self.noise * points[:, r] if self.noise > 0 else y

        self.label = label
        if self.dim == 3 and pole is None:
            pole = best_pole(label, n_angle, n_radial)
        self.pole = pole
        self.rays = RayRule(
            label,
            self.dim,
            max(1, int(round(n_angle * fraction))),
            max(2, int(round(n_radial * fraction))),
            pole,
        )
        self._cache: dict = {}

    def sample(self, breaks=()) -> LabelSample:
        """The rule with the label levels ``breaks`` on piece boundaries (cached per breaks)."""
        breaks = tuple(sorted({float(b) for b in breaks if np.isfinite(b)}))
        if breaks in self._cache:
            return self._cache[breaks]
        points, weights = self.rays.nodes(breaks)
        y = self.label(points)
        weights = weights / weights.sum()
        step = max(1, points.shape[0] // _PROBE_POINTS)
        probe = np.concatenate([points[::step] * s for s in _PROBE_SCALES])
        r = self.link.r
        with np.errstate(all="ignore"):
            probe_y = np.asarray(self.link(probe[:, :r]), dtype=np.float64)
            if self.noise > 0:  # as Monte Carlo's probe: inputs scaled, noise not
                probe_y = probe_y + self.noise * np.tile(points[::step, r], len(_PROBE_SCALES))
        out = LabelSample(points[:, :r], y, weights, probe_y, "quadrature")
        self._cache[breaks] = out
        return out


def quadrature_dimension(r: int, noise: float) -> int:
    """Dimension of the quadrature rule: r, plus one for label noise."""
    return r + (1 if noise > 0 else 0)


def preprocessing_breaks(preprocessing) -> tuple:
    """Label values where a preprocessing is not smooth: a name's (as
    :func:`mimkit.preprocessing.make_preprocessing` lists them), or a callable's attribute
    ``breaks``; a callable without it is taken as smooth."""
    if isinstance(preprocessing, str):
        from .preprocessing.transforms import make_preprocessing  # the transforms know their kinks

        preprocessing = make_preprocessing(preprocessing)
    return tuple(getattr(preprocessing, "breaks", ()))


def quadrature_location(law: QuadratureLaw, loss: str, huber_delta: float) -> float:
    """The population offset ``c`` of ``loss`` (mean, median, Huber location) by quadrature.

    The median solves ``P(y <= c) = 1/2`` and the Huber location ``E clip(y - c) = 0``, each
    evaluated on the rule cut at the current ``c`` (so the step or the kinks fall on piece
    boundaries) and solved from the uncut rule's estimate: the Huber location by Newton's
    method (its slope ``-P(|y - c| < delta)`` comes with the rule), the median (and a Huber
    location Newton does not settle) by Brent's method. For discrete
    labels the atoms are exact, and the median is the lower one where two atoms split the mass
    evenly (``sign_z1z2``: -1; by the link's symmetry +1 gives the same thresholds).
    """
    base = law.sample()
    if loss == "squared":
        return float(base.mean(base.y))
    atoms, inverse = np.unique(base.y, return_inverse=True)
    if law.noise == 0 and atoms.size <= DISCRETE_LEVELS:
        mass = np.bincount(inverse, weights=base.weights)
        if loss == "absolute":
            cum = np.cumsum(mass)
            # The lower median (smallest c with P(y <= c) >= 1/2), also where the atoms split
            # the mass evenly: a sample's median sits on one of the two atoms, not between.
            return float(atoms[min(int(np.searchsorted(cum, 0.5 - 1e-12)), atoms.size - 1)])
        return _solve(lambda c: mass @ np.clip(atoms - c, -huber_delta, huber_delta), atoms)

    from .preprocessing.transforms import loss_transform  # its breaks: where T is not smooth

    def equation(c, slope: bool = False):
        # The bare rule (no probe points, not cached): only the final c's rule is used again.
        points, weights = law.rays.nodes(preprocessing_breaks(loss_transform(loss, c, huber_delta)))
        y = law.label(points)
        weights = weights / np.sum(weights)
        if loss == "absolute":
            return 0.5 - float(np.sum(weights * (y <= c)))
        value = float(np.sum(weights * np.clip(y - c, -huber_delta, huber_delta)))
        # d/dc E clip(y - c) = -P(|y - c| < delta), exact on the rule cut at c +- delta
        return (value, -float(np.sum(weights * (np.abs(y - c) < huber_delta)))) if slope else value

    start = _rough_location(base, loss, huber_delta)
    if loss == "huber":
        found = _newton(equation, start, tol=1e-12 * max(1.0, float(np.ptp(base.y))))
        if found is not None:
            return found
    return _solve(equation, base.y, start=start)


def _newton(equation, c: float, tol: float, steps: int = 8) -> Optional[float]:
    """Newton's root of ``equation(c, slope=True) -> (value, slope)`` from ``c``, or None if it
    has not settled within ``steps`` (then Brent's method takes over)."""
    for _ in range(steps):
        value, slope = equation(c, slope=True)
        if not slope < 0:
            return None
        step = -value / slope
        c += step
        if abs(step) <= tol:
            return c
    return None


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
    return QuadratureLaw(law.link, law.noise, 0.5, law.pole)
