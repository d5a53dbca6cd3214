r"""State evolution (SE) of Bayes-optimal GAMP: the overlap it reaches at ``alpha = n / d``.

With a Gaussian prior on the weights (rows of ``sqrt(d) U^T`` iid ``N(0, I_r)``), GAMP's
overlap ``Q_t = (1/d) W_hat_t^T W`` follows, as ``n, d -> inf``,

    Qhat_t  = alpha E[g_out(omega, V, y) g_out(omega, V, y)^T],
    Q_{t+1} = Qhat_t (I + Qhat_t)^{-1},

with ``omega ~ N(0, Q_t)``, ``V = I - Q_t``, ``z = omega + N(0, V)``, ``y ~ P(y | z)``; the
expectation is a deterministic tensor rule where that is affordable (r = 1 with a closed-form
channel; :func:`amp_overlap`, ``method``), else a Monte Carlo mean over fixed base draws
(common random numbers keep the map smooth in Q). Started uninformed (``Q_0 = eps I``), the
iteration stops at the first stable fixed point: that is the **algorithmic** curve, what GAMP
(the best polynomial-time algorithm known here) reaches. The **information-theoretic** curve is
the global maximiser of the replica free entropy, which may be another fixed point: where both
differ (a "hard phase", e.g. phase retrieval between alpha = 1, where perfect recovery becomes
possible, and about 1.13, where AMP finds it) no known efficient method reaches the better one.
See docs/theory.md, "Bayes-optimal AMP".

Squared cosines between the estimated and true subspaces are the eigenvalues of Q; the
Bayes-optimal test error at overlap Q is ``E[Var(y | omega)] / Var(y)`` with ``omega ~ N(0, Q)``,
``z | omega ~ N(omega, I - Q)``: the best any predictor built on that estimate can do.

Linearising the SE map at ``Q = 0`` (even links: ``E[z | y] = 0``) gives
``Qhat = alpha E[J M J]`` with ``J = d g_out / d omega`` at ``omega = 0, V = I``, which equals
``E[z z^T | y] - I``: the weak-recovery threshold ``1 / ||M -> E[J M J]||`` is that of the
optimal spectral method, as :func:`amp_threshold` checks through the channel. That threshold
is an expectation over z (r dimensions) alone, computed for r <= 3 by deterministic
quadrature with a doubling check. The SE map is a 2r-dimensional expectation (plus the noise)
whose every point costs a channel call with its own nodes (2 for phase retrieval, 96 for z1*z2,
256 for he2_sum at r = 2): a tensor rule fine enough is affordable at r = 1 only (1.4e4 node
evaluations per step for phase retrieval; ~1e10 for z1*z2), so r >= 2 stays Monte Carlo. The
generic quadrature channel at r >= 3 is refused (:func:`check_channel_feasible`).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._progress import Progress, progress_callback
from .._quadrature import check_agreement
from .._random import RandomState, as_generator
from .._validation import check_count, check_name, check_positive_number
from ..links import Link, get_link
from ._quadrature import gauss_hermite, link_rule, log_axis_nodes, merge_labels
from .channel import Channel, QuadratureChannel
from .factory import make_channel
from .gamp import V_FLOOR

#: Initial overlap of the uninformed start.
_EPS = 1e-3
#: An eigenvalue of Q growing by more than this, relative, per iteration is not converged.
_GROWTH_RTOL = 1e-3
#: Gauss–Hermite nodes per dimension for E[y | omega] in the test error.
_PREDICT_NODES = {1: 60, 2: 24, 3: 10}


@dataclass(frozen=True, eq=False)
class AMPOverlap:
    """State-evolution fixed point of Bayes-optimal GAMP (from :func:`amp_overlap`).

    Attributes
    ----------
    alpha : float
    Q : (r, r) array
        Overlap matrix at the fixed point.
    overlaps : (r,) array
        Per-direction squared cosines (eigenvalues of Q), descending.
    subspace_overlap : float
        Mean squared cosine ``tr(Q) / r`` (``1 - subspace_distance`` for an r-dim estimate).
    test_error : float
        Bayes-optimal test MSE at that overlap, relative to Var(y).
    n_iter : int.  converged : bool
    history : (n_iter + 1, r) array
        Eigenvalues of Q per iteration, from the start.
    noise : float
        Label noise std used (the channel's: raised to a regularising level for a noiseless
        link without a closed-form channel).
    channel : str
        Which rule computed ``g_out``.
    method : str
        ``"quadrature"`` or ``"monte_carlo"``: how the SE expectations were computed.
    """

    alpha: float
    Q: np.ndarray
    overlaps: np.ndarray
    subspace_overlap: float
    test_error: float
    n_iter: int
    converged: bool
    history: np.ndarray
    noise: float
    channel: str
    method: str


def _sqrt_psd(M: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((M + M.T) / 2.0)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _posterior_of_overlap(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sqrt(Q), V = I - Q) with V's eigenvalues floored (V must stay invertible)."""
    vals, vecs = np.linalg.eigh((Q + Q.T) / 2.0)
    vals = np.clip(vals, 0.0, 1.0 - V_FLOOR)
    return (vecs * np.sqrt(vals)) @ vecs.T, (vecs * (1.0 - vals)) @ vecs.T


#: Quadrature state evolution at level 0: spacing of the log-axis rule in ``log|omega_k|`` and
#: Gauss-Hermite nodes per dimension of ``z | omega`` and of the label noise. Level 1 (the
#: result) halves the one and doubles the other: its map is within ~1e-6 of level 2's.
_OMEGA_STEP = 0.25
_REST_NODES = 12
#: Work (rule points x the channel's own nodes, at the finer level) up to which
#: ``method="auto"`` takes the quadrature: beyond, an SE step costs more than Monte Carlo's.
QUADRATURE_WORK = 1_000_000
#: The quadrature overlap's stated accuracy: the eigenvalues of Q at the two levels agree
#: within ``OVERLAP_RTOL |q| + OVERLAP_ATOL``.
OVERLAP_RTOL, OVERLAP_ATOL = 1e-3, 1e-4


# Its signature follows the theory functions' (link, what is asked, r, then noise, n_samples,
# random_state; see mimkit.theory): a deliberate look-alike of theory.network_threshold's.
def amp_overlap(
    link,
    alpha: float,
    r: Optional[int] = None,
    *,
    noise: float = 0.0,
    method: str = "auto",
    n_samples: int = 20_000,
    max_iter: int = 400,
    tol: float = 1e-6,
    random_state: RandomState = None,
    progress: Progress = True,
) -> AMPOverlap:
    """Overlap, per direction and of the subspace, and the Bayes-optimal test error that
    Bayes-optimal GAMP reaches from an uninformed start at sample ratio ``alpha = n / d``.

    Parameters
    ----------
    link : str, Link or callable
        As for :func:`mimkit.links.get_link` (a callable needs ``r``).
    alpha : float > 0
    r : int, optional
    noise : float >= 0
        Gaussian label noise std.
    method : {"auto", "quadrature", "monte_carlo"}
        How each SE step's expectation over ``(omega, z, noise)`` is computed.
        ``"quadrature"``: deterministic, a tensor rule (:func:`overlap_rule`) in place of the
        draws: the log-axis rule of :func:`mimkit.amp._quadrature.log_axis_nodes` for each
        coordinate of ``omega`` (``g_out`` steepens into a step at ``omega_k = 0`` as
        ``V -> 0``; that rule resolves it at every scale), Gauss-Hermite for ``z | omega``
        and the label noise. The whole iteration runs at level 1 (returned) and at half the
        nodes (level 0); their fixed points must agree within ``OVERLAP_RTOL |q| +
        OVERLAP_ATOL`` (1e-3, 1e-4) on every eigenvalue, else a
        :class:`mimkit.theory.QuadratureWarning` says by how much (level 1's map is within
        ~1e-6 of level 2's: the check is conservative). Every rule point costs a channel
        call with the channel's own nodes and the rule has ``k^(2r)`` points, so it is taken
        only up to ``QUADRATURE_WORK`` (1e6) node evaluations per step: r = 1 with a
        closed-form channel (``norm2``, ``he2_sum``, noiseless: 1.4e4); beyond, asking for it
        is a ValueError. ``"monte_carlo"``: ``n_samples`` draws, fixed over the iteration
        (common random numbers keep the map smooth in Q). ``"auto"``: quadrature where
        affordable and converged, else Monte Carlo (silently; near phase retrieval's jump at
        ~1.13 the two levels part).
    n_samples : int
        Monte Carlo draws per SE step; the overlap's error is ~ ``1 / sqrt(n_samples)``.
    max_iter : int.  tol : float
        Stop when no eigenvalue of Q moves by more than ``tol``; near the threshold the approach
        is slow (critical slowing down): a run that hits ``max_iter`` warns.
    random_state : None, int or Generator
        Monte Carlo draws (unused by the quadrature).
    progress : bool or callable(done)
        A bar over the iterations once the run has taken a few seconds (r = 3 or near a
        threshold can take a minute); False for none, a callable to receive the count.

    Returns
    -------
    AMPOverlap

    Raises
    ------
    ValueError
        For r >= 3 without a closed-form channel (:func:`check_channel_feasible`), and for
        ``method="quadrature"`` beyond ``QUADRATURE_WORK``.
    """
    link = get_link(link, r)
    alpha = check_positive_number(alpha, "alpha")
    noise = check_positive_number(noise, "noise", allow_zero=True)
    method = check_name(method, "method", ("auto", "quadrature", "monte_carlo"))
    n_samples = check_count(n_samples, "n_samples", minimum=100)
    max_iter = check_count(max_iter, "max_iter", minimum=1)
    tol = check_positive_number(tol, "tol")
    channel = make_channel(link, noise)
    check_channel_feasible(channel, "amp_overlap")
    if method != "monte_carlo":
        work = _quadrature_work(link, channel)
        if method == "quadrature" and work > QUADRATURE_WORK:
            raise ValueError(
                f"amp_overlap(method='quadrature'): link {link.name!r} (r = {link.r}, noise "
                f"{channel.noise:g}, channel {channel.kind}) needs {work:.2g} channel node "
                f"evaluations per state-evolution step, beyond QUADRATURE_WORK = "
                f"{QUADRATURE_WORK:.0e} (the rule has k^(2r) points): use method='monte_carlo'."
            )
        if work <= QUADRATURE_WORK:
            result = _overlap_by_quadrature(
                link, channel, alpha, noise, max_iter, tol, progress, warn=method == "quadrature"
            )
            if result is not None:
                return result
    rng = as_generator(random_state)
    r = link.r
    unit_omega = rng.standard_normal((n_samples, r))
    unit_rest = rng.standard_normal((n_samples, r))
    unit_noise = rng.standard_normal(n_samples)
    weights = np.full(n_samples, 1.0 / n_samples)
    qhat = _qhat_map(link, channel, alpha, unit_omega, unit_rest, unit_noise, weights)
    Q, history, converged = _iterate(qhat, r, alpha, max_iter, tol, progress)
    err = bayes_test_error(link, Q, noise=noise, n_samples=n_samples, random_state=rng)
    return _result(alpha, Q, history, converged, err, channel, "monte_carlo")


def _qhat_map(link, channel: Channel, alpha: float, unit_omega, unit_rest, unit_noise, weights):
    """``Q -> Qhat = alpha E[g_out g_out^T]`` over ``omega = unit_omega Q^{1/2}``,
    ``z = omega + unit_rest V^{1/2}``, ``y = link(z) + noise unit_noise`` under ``weights``
    (summing to 1): fixed Monte Carlo draws or quadrature nodes."""

    def qhat(Q: np.ndarray) -> np.ndarray:
        root_q, V = _posterior_of_overlap(Q)
        omega = unit_omega @ root_q
        z = omega + unit_rest @ _sqrt_psd(V)
        y = np.asarray(link(z), dtype=np.float64) + channel.noise * unit_noise
        g, _ = channel.g_out(omega, V, y)
        return alpha * (g * weights[:, None]).T @ g

    return qhat


def _iterate(qhat, r: int, alpha: float, max_iter: int, tol: float, progress: Progress):
    """The SE iteration ``Q <- Qhat(Q) (I + Qhat(Q))^{-1}`` from ``_EPS I`` until no eigenvalue
    moves by more than tol: ``(Q, history of eigenvalues, converged)``; warns at max_iter."""
    Q = _EPS * np.eye(r)
    history = [np.linalg.eigvalsh(Q)[::-1]]
    converged = False
    with progress_callback(progress, max_iter, "state evolution", "iteration") as done:
        for iteration in range(max_iter):
            Qhat = qhat(Q)
            Q_new = Qhat @ np.linalg.inv(np.eye(r) + Qhat)
            Q_new = (Q_new + Q_new.T) / 2.0
            history.append(np.linalg.eigvalsh(Q_new)[::-1])
            # The eigenvalues are what is reported; a degenerate Q may still turn slowly inside
            # its eigenspace (an exact symmetry of the link) without changing them.
            change = float(np.max(np.abs(history[-1] - history[-2])))
            # A tiny eigenvalue still growing geometrically moves by less than tol long before it
            # takes off: a later stage leaving its unstable Q = 0 block (sq_sign3's z2, z3 once
            # z1 is learned, from ~1e-9 at alpha = 4) is not a fixed point.
            growing = bool(np.any(history[-1] > history[-2] * (1.0 + _GROWTH_RTOL)))
            Q = Q_new
            if done is not None:
                done(iteration + 1)
            if change < tol and not growing:
                converged = True
                break
    if not converged:
        warnings.warn(
            f"amp_overlap at alpha={alpha:g} did not converge in {max_iter} iterations (last "
            f"change {change:.2e} > tol {tol:g}; slow near a threshold); returning the last "
            f"iterate. Raise max_iter.",
            RuntimeWarning,
            stacklevel=3,
        )
    return Q, np.array(history), converged


def _result(alpha, Q, history, converged, test_error, channel, method) -> AMPOverlap:
    overlaps = np.clip(np.linalg.eigvalsh(Q)[::-1], 0.0, 1.0)
    return AMPOverlap(
        alpha,
        Q,
        overlaps,
        float(overlaps.mean()),
        test_error,
        len(history) - 1,
        converged,
        history,
        channel.noise,
        channel.kind,
        method,
    )


def _quadrature_work(link, channel: Channel) -> int:
    """Channel node evaluations per SE step of the quadrature at its finer level."""
    per_dim = len(log_axis_nodes(_OMEGA_STEP / 2)[0]) * 2 * _REST_NODES
    points = per_dim**link.r * (2 * _REST_NODES if channel.noise > 0 else 1)
    return points * channel.n_nodes


def overlap_rule(r: int, noise: float, level: int):
    """Quadrature nodes of :func:`_qhat_map`: ``(unit_omega, unit_rest, unit_noise, weights)``.

    A tensor rule: per dimension of ``unit_omega`` the log-axis rule
    (:func:`mimkit.amp._quadrature.log_axis_nodes`, spacing ``0.25 / 2**level``), which
    resolves ``g_out``'s steep step at ``omega_k = 0`` (width ~ V: a near-jump as Q -> I) at
    every scale; Gauss-Hermite for ``unit_rest`` (``12 * 2**level`` nodes per dimension: z is
    analytic there given omega) and for the label noise (the same count; none when noiseless).
    """
    x, wx = log_axis_nodes(_OMEGA_STEP / 2**level)
    h, wh = np.polynomial.hermite_e.hermegauss(_REST_NODES * 2**level)
    wh = wh / wh.sum()
    axes = [x] * r + [h] * r + ([h] if noise > 0 else [])
    axis_weights = [wx] * r + [wh] * r + ([wh] if noise > 0 else [])
    grids = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]
    weights = np.prod([g.ravel() for g in np.meshgrid(*axis_weights, indexing="ij")], axis=0)
    unit_noise = grids[2 * r] if noise > 0 else np.zeros(len(weights))
    return (
        np.stack(grids[:r], axis=1),
        np.stack(grids[r : 2 * r], axis=1),
        unit_noise,
        weights,
    )


def _overlap_by_quadrature(
    link, channel, alpha, noise, max_iter, tol, progress, warn: bool
) -> Optional[AMPOverlap]:
    """The quadrature SE at levels 1 and 0 (``method`` of :func:`amp_overlap`): the level-1
    result, or None when the levels disagree and ``warn`` is False."""
    runs = []
    for level in (1, 0):
        qhat = _qhat_map(link, channel, alpha, *overlap_rule(link.r, channel.noise, level))
        runs.append(_iterate(qhat, link.r, alpha, max_iter, tol, progress if level else False))
    (Q, history, converged), (Q_half, _, _) = runs
    agree = check_agreement(
        [(np.linalg.eigvalsh(Q), np.linalg.eigvalsh(Q_half))],
        OVERLAP_RTOL,
        OVERLAP_ATOL,
        f"amp_overlap({link.name!r}, alpha={alpha:g})",
        warn=warn,
    )
    if not agree and not warn:
        return None
    nodes, weights = gauss_hermite(_PREDICT_NODES.get(link.r, 6), link.r)
    err = _test_error(link, Q, noise, nodes, np.exp(weights))
    return _result(alpha, Q, history, converged, err, channel, "quadrature")


def bayes_test_error(
    link,
    Q: np.ndarray,
    *,
    noise: float = 0.0,
    n_samples: int = 20_000,
    random_state: RandomState = None,
) -> float:
    """``E[Var(y | omega)] / Var(y)``, ``omega ~ N(0, Q)``, ``z | omega ~ N(omega, I - Q)``.

    ``E[g(z) | omega]`` and ``Var(g(z) | omega)`` are Gauss–Hermite means, the outer mean is
    Monte Carlo, and ``Var(y)`` comes from the same draws by the law of total variance (so the
    ratio is exactly 1 at ``Q = 0``).

    Parameters
    ----------
    link : Link (or as for :func:`mimkit.links.get_link`).  Q : (r, r) overlap matrix.
    noise : float.  n_samples : int.  random_state : None, int or Generator

    Returns
    -------
    float in [0, 1] up to Monte Carlo error.
    """
    link = get_link(link, np.shape(Q)[0])
    rng = as_generator(random_state)
    unit = rng.standard_normal((n_samples, link.r))
    return _test_error(link, Q, noise, unit, np.full(n_samples, 1.0 / n_samples))


def _test_error(link, Q, noise: float, unit: np.ndarray, weights: np.ndarray) -> float:
    """:func:`bayes_test_error` with the outer mean over ``omega = unit @ sqrt(Q)`` under
    ``weights`` (summing to 1): Monte Carlo draws or Gauss-Hermite nodes."""
    r = link.r
    root_q, V = _posterior_of_overlap(np.asarray(Q, dtype=np.float64))
    nodes, log_w = gauss_hermite(_PREDICT_NODES.get(r, 6), r)
    w = np.exp(log_w)
    omega = unit @ root_q
    z = omega[:, None, :] + (nodes @ _sqrt_psd(V))[None, :, :]
    gz = np.asarray(link(z.reshape(-1, r)), dtype=np.float64).reshape(len(unit), -1)
    cond_mean = gz @ w
    cond_var = np.maximum(gz**2 @ w - cond_mean**2, 0.0)
    unexplained = float(weights @ cond_var) + noise**2
    explained = float(weights @ (cond_mean - weights @ cond_mean) ** 2)
    return unexplained / (unexplained + explained)


@dataclass(frozen=True, eq=False)
class AMPThreshold:
    """Weak-recovery threshold of the SE map (from :func:`amp_threshold`).

    Attributes
    ----------
    alpha_c : float
        0 when ``E[z | y] != 0`` (a link with a linear part: any alpha gives some overlap).
    stderr : float
        Error estimate: the Monte Carlo standard error (delta method), or for quadrature the
        change of ``alpha_c`` when the nodes per dimension double.
    direction : (r, r) symmetric array, unit Frobenius norm
        The overlap matrix that grows first (top eigenvector of the linearised map). Where the
        top eigenvalue is degenerate (a rotation-invariant link such as ``he2_sum``: every
        symmetric matrix grows alike), the identity's share of that eigenspace, normalised.
    noise : float.  channel : str
    method : str
        ``"quadrature"`` or ``"monte_carlo"``.
    """

    alpha_c: float
    stderr: float
    direction: np.ndarray
    noise: float
    channel: str
    method: str


#: Relative accuracy the quadrature threshold promises: the doubled rule agrees to it, or warns.
THRESHOLD_RTOL = 1e-3
#: Above this, ``E[E[z|y] E[z|y]^T]`` is not rounding: Q = 0 is not a fixed point.
_LINEAR_TOL = 1e-10


def check_channel_feasible(channel: Channel, what: str) -> None:
    """Refuse the generic r >= 3 channel: its tensor rule (24^3 nodes per sample) makes every
    call minutes long at the sizes these computations need, and its nodes are too coarse to
    resolve a noiseless link's regularised likelihood, so its numbers would be wrong."""
    if isinstance(channel, QuadratureChannel) and channel.r >= 3:
        raise ValueError(
            f"{what}: link {channel.link.name!r} with r = {channel.r} has no closed-form "
            "channel, and the generic r-dimensional quadrature channel is both too slow "
            "(minutes) and too coarse at r >= 3. Closed forms cover he2_sum and norm2 (r <= 3, "
            "noiseless), z1z2, z1_plus_z1z2, sign_z1z2, sign_committee and sq_sign3 "
            "(noiseless); for an even link the threshold equals "
            "the optimal spectral method's: mimkit.theory.weak_recovery_threshold(link, "
            "'optimal')."
        )


def amp_threshold(
    link,
    r: Optional[int] = None,
    *,
    noise: float = 0.0,
    method: str = "auto",
    n_samples: int = 200_000,
    random_state: RandomState = None,
) -> AMPThreshold:
    """Where the SE fixed point leaves ``Q = 0``, from the channel's Jacobian at Q = 0.

    ``alpha_c = 1 / lambda_max`` of the map ``M -> E[J M J]`` on symmetric r x r matrices,
    ``J = d g_out / d omega`` at ``omega = 0, V = I`` (extrapolated central differences); the
    expectation is over ``z ~ N(0, I_r)`` and the label noise. Q = 0 is a fixed point only
    for links with ``E[z | y] = 0``; otherwise ``alpha_c = 0``.

    Parameters
    ----------
    link, r, noise : as for :func:`amp_overlap`.
    method : {"auto", "quadrature", "monte_carlo"}
        ``"quadrature"`` (auto for r <= 3): a tensor rule over z and the label noise
        (:func:`mimkit.amp._quadrature.link_rule`: Gauss-Hermite for ``he2_sum`` and
        ``norm2``, else a trapezoid rule in ``log|z_k|`` on each half line that resolves
        jumps and singularities on the axes), then the same with twice the nodes, in that
        rule and in the channel's own (:meth:`Channel.refined`): the finer result is returned,
        its ``stderr`` is the difference, and a ``RuntimeWarning`` says when that exceeds
        ``THRESHOLD_RTOL`` (1e-3) relative. Exact to rounding for ``he2_sum``/``norm2``
        (``alpha_c = r / 2``) and ``sign_z1z2`` (``pi^2 / 4``); ``z1z2``: 0.59365, within
        2e-4 of the limit of ever finer channels (0.59375).
        ``"monte_carlo"`` (auto for r > 3): ``n_samples`` draws.
    n_samples : int.  random_state : None, int or Generator
        Monte Carlo size and draws (``"monte_carlo"`` only); the standard error is by the
        delta method.

    Returns
    -------
    AMPThreshold

    Raises
    ------
    ValueError
        For r >= 3 without a closed-form channel (:func:`check_channel_feasible`).
    """
    link = get_link(link, r)
    noise = check_positive_number(noise, "noise", allow_zero=True)
    method = check_name(method, "method", ("auto", "quadrature", "monte_carlo"))
    channel = make_channel(link, noise)
    check_channel_feasible(channel, "amp_threshold")
    r = link.r
    if method == "quadrature" or (method == "auto" and r <= 3):
        if r > 3:
            raise ValueError(f"method='quadrature' needs r <= 3 (tensor rules), got r = {r}.")
        coarse, linear_direction, _ = _linearised_map(channel, *link_rule(link, 0, channel.noise))
        if coarse == 0.0:  # a linear part: no refinement needed to see it
            return AMPThreshold(
                0.0, 0.0, linear_direction, channel.noise, channel.kind, "quadrature"
            )
        fine, direction, _ = _linearised_map(channel.refined(), *link_rule(link, 1, channel.noise))
        error = abs(fine - coarse)
        if error > THRESHOLD_RTOL * fine:
            warnings.warn(
                f"amp_threshold({link.name!r}): the quadrature did not converge (alpha_c "
                f"{coarse:.6g}, then {fine:.6g} with twice the nodes per dimension, outside "
                "and inside the channel); "
                "method='monte_carlo' gives an unbiased estimate with a standard error.",
                RuntimeWarning,
                stacklevel=2,
            )
        return AMPThreshold(fine, error, direction, channel.noise, channel.kind, "quadrature")
    n_samples = check_count(n_samples, "n_samples", minimum=1000)
    rng = as_generator(random_state)
    z = rng.standard_normal((n_samples, r))
    y = np.asarray(link(z), dtype=np.float64) + channel.noise * rng.standard_normal(n_samples)
    alpha_c, direction, contrib = _linearised_map(channel, z, y, np.full(n_samples, 1 / n_samples))
    stderr = float(np.std(contrib) / np.sqrt(n_samples)) * alpha_c**2 if alpha_c > 0 else 0.0
    return AMPThreshold(alpha_c, stderr, direction, channel.noise, channel.kind, "monte_carlo")


def _richardson_derivative(channel: Channel, y: np.ndarray, k: int, h: float) -> np.ndarray:
    """``d g_out / d omega_k`` at ``omega = 0, V = I``, (n, r): central differences at steps h
    and h / 2 combined by Richardson extrapolation (error ~ h^4, where one central difference
    at a step small enough for 1e-12 would lose that to rounding)."""
    n, r = len(y), channel.r

    def central(step: float) -> np.ndarray:
        e = np.zeros((n, r))
        e[:, k] = step
        return (channel.g_out(e, np.eye(r), y)[0] - channel.g_out(-e, np.eye(r), y)[0]) / (2 * step)

    return (4.0 * central(h / 2) - central(h)) / 3.0


def _symmetric_basis(r: int) -> np.ndarray:
    """Orthonormal basis of the symmetric r x r matrices (Frobenius), as (r*r, r(r+1)/2)."""
    basis = []
    for i in range(r):
        for j in range(i, r):
            E = np.zeros((r, r))
            E[i, j] = E[j, i] = 1.0 if i == j else np.sqrt(0.5)
            basis.append(E.ravel())
    return np.array(basis).T


def _linearised_map(channel: Channel, z: np.ndarray, y: np.ndarray, w: np.ndarray):
    """``(alpha_c, direction, contributions)`` of the map ``M -> sum_i w_i J_i M J_i``.

    ``contributions`` (n,) are the per-sample values ``<v, J_i v J_i>`` of the top eigenvector
    v (their weighted mean is ``1 / alpha_c``), for the Monte Carlo standard error. At
    ``omega = 0, V = I`` the channel depends on the label alone: it runs once per distinct one.
    """
    r = z.shape[1]
    y, w, inverse = merge_labels(y, w)
    n = len(y)
    V, h = np.eye(r), 1e-3
    g0 = channel.g_out(np.zeros((n, r)), V, y)[0]
    linear = (g0 * w[:, None]).T @ g0
    if np.linalg.eigvalsh(linear)[-1] > _LINEAR_TOL:
        top = np.linalg.eigh(linear)[1][:, -1]
        return 0.0, np.outer(top, top), np.zeros(len(inverse))
    J = np.empty((n, r, r))
    for k in range(r):
        J[:, :, k] = _richardson_derivative(channel, y, k, h)
    J = (J + J.transpose(0, 2, 1)) / 2.0
    B = _symmetric_basis(r)
    # (J M J) for each basis matrix M, flattened, projected back on the basis: (n, s, s).
    mats = B.T.reshape(-1, r, r)
    JMJ = np.einsum("nij,sjk,nkl->nsil", J, mats, J).reshape(n, len(mats), r * r)
    per_sample = JMJ @ B
    K = np.einsum("n,nst->ts", w, per_sample)
    vals, vecs = np.linalg.eigh((K + K.T) / 2.0)
    lam = vals[-1]
    top = vecs[:, vals >= lam - 1e-9 * max(abs(lam), 1e-300)]
    identity = top @ (top.T @ (np.eye(r).ravel() @ B))
    v = identity if np.linalg.norm(identity) > 1e-6 else top[:, -1]
    v = v / np.linalg.norm(v)
    contrib = np.einsum("s,nst,t->n", v, per_sample, v)
    return 1.0 / lam, (B @ v).reshape(r, r), contrib[inverse]


def channel_threshold(link: Link, channel: Channel) -> Optional[float]:
    """AMP's weak-recovery threshold for GAMP run with ``channel`` on ``link``, or None for a
    generic (quadrature) channel with r >= 2 (minutes). Library links are cached: the
    quadrature is deterministic."""
    if isinstance(channel, QuadratureChannel) and link.r >= 2:
        return None
    if link.in_core:
        return _library_threshold(link.name, link.r, channel.noise)
    return amp_threshold(link, noise=channel.noise).alpha_c


@functools.lru_cache(maxsize=64)
def _library_threshold(name: str, r: int, noise: float) -> float:
    return amp_threshold(name, r, noise=noise).alpha_c
