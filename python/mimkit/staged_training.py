"""The two-layer network trained stage by stage (docs/theory.md, "Hierarchies").

The paper's phase 1 sees only what the local Hessian ``E[T(y)(zz^T - I)]`` sees. Targets
outside its class often have a structure it misses: a first-order part (``E[z|y] != 0``,
cancelled by the symmetric init) or directions that become visible once others are known
(``z1^2 + sign(z1 z2 z3)``). :func:`train_staged` learns them stage by stage. Each stage
works on the part of x outside the directions learned so far (``P x``), against the residual
``r = y - f(x)`` of the network fitted so far, with a per-row gate ``s_i``:

* the weights are ``w_i = s_i T(r_i)``, ``T(r) = -loss'(c, r)`` at the residual's location c,
  and ``s_i = sum_l [sigma''(c_g h_il + b_g) - sigma''(-c_g h_il + b_g)]`` over the learned
  projections ``h_il = u_l . x_i`` (``s = 1`` while nothing is learned);
* **first-order** ("trivial") stage, first stage only, when ``m = (1/n) sum_i w_i x_i`` stands
  out of its null law (``n |m|^2 / mean(w^2)`` is chi-square with d degrees of freedom when x
  is independent of w): the direction ``m / |m|``. That is where phase-1 GD of neurons with a
  nonzero bias converges. Later, the residual's first-order part is mostly what the earlier
  directions missed of themselves, not a new direction (docs/theory.md, "Hierarchies");
* **second-order** ("easy") stage, when ``S = (1/n) sum_i w_i P x_i x_i^T P`` has eigenvalues
  outside its predicted bulk (:func:`stage_outliers`; a wider margin after the first stage):
  phase-1 GD of new
  neurons on the projected data, with the gate as the core's per-row weight. Phase-1 GD on
  neurons ``sigma(c_g h + b_g +- w.x)`` (pairs with opposite outer weights cancel the
  first-order term) is power iteration on exactly this S. As many directions as outliers.

``stages="auto"`` stops at the first stage with neither (at most :data:`AUTO_MAX_STAGES`);
an integer k runs exactly k stages (a stage with nothing significant takes the leading
eigenvector of S). The final network has ``n_hidden`` neurons shared equally between the
stages: those of stage s point along ``q_j + v_j`` (normalised), ``v_j`` a phase-1 direction of
that stage (or its first-order direction) and ``q_j`` a Gaussian combination of the directions
of the earlier stages with ``E|q_j|^2 = 1``, so each neuron holds the learned features with an
O(1) weight; phase 2 (:func:`mimkit.training.run_phase2`) fits all their outer weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np

from . import core
from ._inputs import as_rows
from ._random import RandomState, as_generator
from ._validation import as_vector, check_count, check_name, check_positive_number
from .joint_training import DEFAULT_TOL, JointFit, train_joint
from .network import TwoLayerNetwork, symmetric_init
from .preprocessing import loss_preprocessing
from .spectral import LocalHessian, outlier_eigenpairs
from .training import (
    REFINE_ADAM_LEARNING_RATE,
    REFINE_MAX_ITER,
    Phase2Output,
    default_n_steps,
    neuron_subspace,
    run_phase2,
)

#: Most stages ``stages="auto"`` runs (and the number of parts D1 is cut into for
#: ``stage_data="fresh"`` with "auto").
AUTO_MAX_STAGES = 4
#: Standard deviations above the chi-square null mean ``d`` at which the first-order statistic
#: counts (a false detection rate ~ 3e-7 for the normal approximation of chi-square).
FIRST_ORDER_MARGIN = 5.0
#: Tracy–Widom units beyond the bulk edges that a later stage's eigenvalue must reach (the first
#: stage uses mimkit.bulk_edges' 3). "auto" tests up to 2 (AUTO_MAX_STAGES - 1) = 6 edges after
#: the first stage, and with reused samples the rows outside B are only nearly independent of
#: the weights (a z1z2 run at d = 512 put a null eigenvalue 0.4% beyond the 3-unit bound):
#: P(TW1 > 4) ~ 3e-4 per edge keeps the run's false-stage rate well below 1%.
LATER_STAGE_MARGIN = 4.0
#: What each stage trains on: its own part of D1, or all of D1 again.
STAGE_DATA = ("fresh", "reuse")
#: sigma'' of the activations whose gate has an odd part (quadratic: sigma'' = 1 has none).
_SECOND_DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "logcosh": lambda z: 1.0 / np.cosh(np.clip(z, -350.0, 350.0)) ** 2,
    "cos": np.cos,
}


@dataclass(frozen=True, eq=False)
class Stage:
    """One stage of a staged network.

    Attributes
    ----------
    kind : {'trivial', 'easy'}
        First-order direction, or phase-1 power iteration on the stage's conditional Hessian.
    directions : (k, d) array, orthonormal rows, orthogonal to the earlier stages'.
    statistic : (k,) array
        'trivial': the first-order statistic ``(n |m|^2 / mean(w^2) - d) / sqrt(2 d)`` (in
        null standard deviations); 'easy': S's eigenvalues outside its bulk (empty when a
        fixed stage count took the leading direction without one).
    bounds : (2,) array
        'easy': the predicted bulk's outlier bounds; 'trivial': ``(-inf, FIRST_ORDER_MARGIN)``.
    n_steps : int, phase-1 steps (0 for 'trivial').
    n_samples : int, rows the stage trained on.
    phase1_loss : (n_steps,) array, the gated phase-1 loss per step (empty for 'trivial').
    """

    kind: str
    directions: np.ndarray
    statistic: np.ndarray
    bounds: np.ndarray
    n_steps: int
    n_samples: int
    phase1_loss: np.ndarray


@dataclass(frozen=True, eq=False)
class StagedFit:
    """What :func:`train_staged` did.

    Attributes
    ----------
    network : TwoLayerNetwork, the final network (refined when ``refine`` was set).
    phase2 : Phase2Output, the final outer-layer fit (``phase2.network``: the staged network).
    stages : tuple of Stage, in learning order.
    stopped : Stage or None
        ``stages="auto"``: the stage whose statistics were inside their null bounds (its
        ``directions`` empty); None when the stage budget ran out first.
    refinement : JointFit or None, what ``refine`` did.
    """

    network: TwoLayerNetwork
    phase2: Phase2Output
    stages: tuple[Stage, ...]
    stopped: Optional[Stage]
    refinement: Optional[JointFit] = None

    @property
    def directions(self) -> np.ndarray:
        """(k, d) array: every learned direction, in learning order (orthonormal rows)."""
        return np.concatenate([stage.directions for stage in self.stages], axis=0)


def staged_subspace(stages: tuple[Stage, ...], W: np.ndarray, k: int) -> np.ndarray:
    """The first k directions of a staged network: its stages' directions in learning order,
    then the top right singular vectors of W's rows outside them.

    Returns
    -------
    (k, d) array with orthonormal rows.
    """
    learned = np.concatenate([stage.directions for stage in stages], axis=0)
    n_learned, d = learned.shape
    k = check_count(k, "k", minimum=1)
    if k > d:
        raise ValueError(f"k must be at most n_features = {d}, got {k}.")
    if k <= n_learned:
        return learned[:k]
    # an orthonormal basis of the complement, then W's leading directions within it
    complement = np.linalg.qr(learned.T, mode="complete")[0][:, n_learned:]
    right = np.linalg.svd(np.asarray(W, dtype=np.float64) @ complement)[2]
    return np.concatenate([learned, right[: k - n_learned] @ complement.T], axis=0)


def check_stages(stages) -> Union[int, str]:
    """``stages``: a count >= 1 or "auto" (ValueError naming the parameter otherwise)."""
    if isinstance(stages, str):
        return check_name(stages, "stages", ("auto",))
    return check_count(stages, "stages", minimum=1, hint="Or pass 'auto'.")


def check_gate_activation(activation: str) -> None:
    """The gate needs ``sigma''`` with a part odd in its argument (ValueError otherwise)."""
    if activation not in _SECOND_DERIVATIVES:
        raise ValueError(
            f"stages != 1 needs an activation whose sigma'' has a part odd in its argument; "
            f"activation={activation!r} has none (sigma'' is constant). Use 'logcosh' or 'cos'."
        )


def stage_gate(H: np.ndarray, activation: str, gate_scale: float, gate_bias: float) -> np.ndarray:
    """The gate ``s_i = sum_l [sigma''(c h_il + b) - sigma''(-c h_il + b)]`` (odd in each h).

    Parameters
    ----------
    H : (n, k) projections on the learned directions.  activation : str.
    gate_scale, gate_bias : c and b.

    Returns
    -------
    (n,) float64 array (all ones when k = 0: the paper's phase 1).
    """
    if H.shape[1] == 0:
        return np.ones(H.shape[0])
    check_gate_activation(activation)
    second = _SECOND_DERIVATIVES[activation]
    H = np.asarray(H, dtype=np.float64)
    return np.sum(second(gate_scale * H + gate_bias) - second(-gate_scale * H + gate_bias), axis=1)


def stage_weights(
    residual: np.ndarray,
    H: np.ndarray,
    activation: str,
    loss: str,
    huber_delta: float,
    gate_scale: float,
    gate_bias: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stage's per-row quantities (module docstring).

    Parameters
    ----------
    residual : (n,) ``y - f(x)`` of the network so far (y itself at the first stage).
    H : (n, k) projections on the learned directions.  Others as in :func:`train_staged`.

    Returns
    -------
    gate : (n,) :func:`stage_gate`.  labels : (n,) ``residual - c``, the core's labels (every
    loss depends on ``p - y`` only).  weights : (n,) ``gate * T(residual)``, the weights of S.
    """
    transform, c = loss_preprocessing(loss, residual, huber_delta)
    gate = stage_gate(H, activation, gate_scale, gate_bias)
    return gate, residual - c, gate * transform(residual)


def _parts(n: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` disjoint random row sets of (nearly) equal size."""
    if n < count:
        raise ValueError(
            f"stage_data='fresh' cuts D1 into {count} parts, but D1 has {n} rows; pass more "
            f"samples or stage_data='reuse'."
        )
    return [np.sort(part) for part in np.array_split(rng.permutation(n), count)]


def orthonormal_complement_rows(V: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Rows of V with their components along B's rows removed, orthonormalised."""
    if B.shape[0]:
        V = V - (V @ B.T) @ B
    return np.linalg.qr(V.T)[0].T


def _final_directions(
    stage_neurons: list[np.ndarray], stages: list[Stage], n_hidden: int, rng: np.random.Generator
) -> np.ndarray:
    """The network's unit neuron directions: ``n_hidden`` shared between the stages, those of
    stage s along ``q_j + v_j`` (module docstring)."""
    counts = np.full(len(stages), (n_hidden // len(stages)) // 2 * 2)
    counts[-1] += n_hidden - counts.sum()
    rows = []
    earlier = np.zeros((0, stage_neurons[0].shape[1]))
    for count, neurons, stage in zip(counts, stage_neurons, stages):
        V = neurons[np.arange(count) % neurons.shape[0]]
        if earlier.shape[0]:
            G = rng.standard_normal((count, earlier.shape[0])) / math.sqrt(earlier.shape[0])
            V = V + G @ earlier
        rows.append(V / np.linalg.norm(V, axis=1, keepdims=True))
        earlier = np.concatenate([earlier, stage.directions], axis=0)
    return np.concatenate(rows, axis=0)


def train_staged(
    X1: np.ndarray,
    y1: np.ndarray,
    X2: np.ndarray,
    y2: np.ndarray,
    *,
    stages: Union[int, str] = "auto",
    stage_data: str = "reuse",
    gate_scale: float = 1.0,
    gate_bias: float = 1.0,
    n_hidden: int = 64,
    activation: str = "logcosh",
    loss: str = "huber",
    huber_delta: float = 1.0,
    lr: float = 1.0,
    weight_decay: float = 1.0,
    n_steps: Optional[int] = None,
    init_scale: float = 1e-6,
    ridge: Union[str, float] = "gcv",
    bias_scale: float = 1.0,
    refine: Optional[str] = None,
    refine_max_iter: Optional[int] = None,
    refine_tol: float = DEFAULT_TOL,
    n_threads: Optional[int] = None,
    random_state: RandomState = None,
) -> StagedFit:
    """Learn the index directions stage by stage (module docstring), then fit the outer layer.

    Parameters
    ----------
    X1 : (n1, d) array, y1 : (n1,) the stages' data D1.  X2 : (n2, d), y2 : (n2,) the outer
        layer's data D2 (the same arrays as D1 for the paper's ``phase2_data='reuse'``).
    stages : int >= 1 or 'auto'
        Exactly that many stages, or until a stage finds nothing (at most AUTO_MAX_STAGES).
    stage_data : {'reuse', 'fresh'}
        'reuse': every stage trains on all of D1; 'fresh': D1 is cut at random into one part
        per stage (AUTO_MAX_STAGES parts for 'auto'), each stage on its own.
    gate_scale, gate_bias : float
        c and b of the gate ``sigma''(c h + b)`` (docs/theory.md, "Hierarchies": b = 0 would
        leave no odd part, and the odd part is what sees ``sign(z1 z2 z3)`` given z1).
    n_hidden, activation, loss, huber_delta, lr, weight_decay, n_steps, init_scale, ridge,
    bias_scale, refine, refine_max_iter, refine_tol, n_threads
        As in :func:`mimkit.training.train_layerwise`; every stage's phase 1 trains
        ``n_hidden`` neurons, and the final network has ``n_hidden``. ``refine`` trains all
        weights of the staged network jointly on D1 and D2 (one set when X2 is X1).
    random_state : int, Generator or None

    Returns
    -------
    StagedFit
    """
    stages = check_stages(stages)
    stage_data = check_name(stage_data, "stage_data", STAGE_DATA)
    gate_scale = check_positive_number(gate_scale, "gate_scale")
    gate_bias = float(gate_bias)
    if not math.isfinite(gate_bias):
        raise ValueError(f"gate_bias must be a finite number, got {gate_bias!r}.")
    if stages != 1:
        check_gate_activation(activation)
    reuse = X2 is X1
    X1 = as_rows(X1, allow_stream=False)
    y1 = as_vector(y1, "y1", np.float64, X1.shape[0])
    if reuse:
        X2, y2 = X1, y1
    else:
        X2 = as_rows(X2, allow_stream=False)
        y2 = as_vector(y2, "y2", np.float64, X2.shape[0])
    n, d = X1.shape
    n_steps = default_n_steps(d) if n_steps is None else check_count(n_steps, "n_steps")
    rng = as_generator(random_state)
    refine_args = dict(
        method=refine,
        max_iter=refine_max_iter,
        tol=refine_tol,
        activation=activation,
        n_threads=n_threads,
        rng=rng,
    )
    budget = AUTO_MAX_STAGES if isinstance(stages, str) else stages
    parts = _parts(n, budget, rng) if stage_data == "fresh" else None
    B = np.zeros((0, d))  # learned directions so far, orthonormal rows
    done: list[Stage] = []
    neurons: list[np.ndarray] = []
    network: Optional[TwoLayerNetwork] = None
    fit: Optional[Phase2Output] = None
    for s in range(budget):
        rows = parts[s] if parts is not None else slice(None)
        Xs, ys = X1[rows], y1[rows]
        residual = ys if network is None else ys - network.predict(Xs, n_threads=n_threads)
        gate, labels, weights = stage_weights(
            residual, Xs @ B.T, activation, loss, huber_delta, gate_scale, gate_bias
        )
        Xp = np.ascontiguousarray(Xs - (Xs @ B.T) @ B, dtype=Xs.dtype) if B.shape[0] else Xs
        # First order only while nothing is learned: later, the residual's first-order part is
        # mostly the unlearned remainder of the earlier directions (docs/theory.md).
        found = first_order_stage(Xp, weights) if s == 0 else None
        if found is None:
            found = _second_order_stage(
                Xp,
                labels,
                gate,
                weights,
                B,
                exact=stages != "auto" or s == 0,
                n_hidden=n_hidden,
                activation=activation,
                loss=loss,
                huber_delta=huber_delta,
                lr=lr,
                weight_decay=weight_decay,
                n_steps=n_steps,
                init_scale=init_scale,
                n_threads=n_threads,
                rng=rng,
            )
        stage, stage_neurons = found
        if stage.directions.shape[0] == 0:
            assert fit is not None  # the first stage always learns (exact)
            return _refined(
                StagedFit(fit.network, fit, tuple(done), stage), X1, y1, X2, y2, refine_args
            )
        done.append(stage)
        neurons.append(stage_neurons)
        B = np.concatenate([B, stage.directions], axis=0)
        W = _final_directions(neurons, done, n_hidden, rng)
        fit = run_phase2(
            X2,
            y2,
            W,
            activation=activation,
            ridge=ridge,
            bias_scale=bias_scale,
            n_threads=n_threads,
            random_state=rng,
        )
        network = fit.network
    assert fit is not None
    return _refined(StagedFit(fit.network, fit, tuple(done), None), X1, y1, X2, y2, refine_args)


def _refined(fit: StagedFit, X1, y1, X2, y2, args: dict) -> StagedFit:
    """``fit`` with its network trained jointly (``args["method"]``), as train_layerwise
    refines the layer-wise network: squared loss, offset kept, early stopping."""
    if args["method"] is None:
        return fit
    net = fit.network
    parts = [(X1, y1)] if X2 is X1 else [(X1, y1), (X2, y2)]
    max_iter = args["max_iter"]
    joint = train_joint(
        tuple(X for X, _ in parts),
        tuple(y - net.c for _, y in parts),
        net.W,
        net.b,
        net.a,
        activation=args["activation"],
        loss="squared",
        method=args["method"],
        max_iter=REFINE_MAX_ITER[args["method"]] if max_iter is None else max_iter,
        tol=args["tol"],
        learning_rate=REFINE_ADAM_LEARNING_RATE,
        n_threads=args["n_threads"],
        random_state=args["rng"],
    )
    refined = TwoLayerNetwork(joint.W, joint.b, joint.a, net.c, net.activation)
    return StagedFit(refined, fit.phase2, fit.stages, fit.stopped, joint)


def stage_outliers(
    op: LocalHessian, later: bool, **eigen
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stage's eigenpairs outside its predicted bulk, with the wider margin of a later stage
    (:data:`LATER_STAGE_MARGIN`).

    Parameters
    ----------
    op : LocalHessian, the stage's S.  later : whether directions were learned before.
    eigen : ``method`` and ``random_state`` for :func:`mimkit.spectral.outlier_eigenpairs`.

    Returns
    -------
    values : (k,) array.  vectors : (d, k) array.  bounds : (2,) array, the bounds applied.
    """
    d = op.shape[0]
    values, vectors, edges = outlier_eigenpairs(op, "abs", limit=d, **eigen)
    if not later:
        return values, vectors, edges.bounds
    bounds = edges.edges + LATER_STAGE_MARGIN * edges.scales * np.array([-1.0, 1.0])
    keep = (values < bounds[0]) | (values > bounds[1])
    return values[keep], vectors[:, keep], bounds


def first_order_stage(X: np.ndarray, weights: np.ndarray) -> Optional[tuple[Stage, np.ndarray]]:
    """A 'trivial' stage and its neurons' direction when ``m = X^T w / n`` is significant
    (module docstring), else None. X: (n, d) rows, w: (n,) weights."""
    n, d = X.shape
    mean_square = float(np.mean(weights**2))
    if mean_square == 0.0:
        return None
    m = X.T.astype(np.float64) @ weights / n
    z = (n * float(m @ m) / mean_square - d) / math.sqrt(2.0 * d)
    if not z > FIRST_ORDER_MARGIN:
        return None
    u = m[None, :] / np.linalg.norm(m)
    stage = Stage(
        "trivial",
        u,
        np.array([z]),
        np.array([-np.inf, FIRST_ORDER_MARGIN]),
        0,
        n,
        np.zeros(0),
    )
    return stage, u


def _second_order_stage(
    Xp: np.ndarray,
    labels: np.ndarray,
    gate: np.ndarray,
    weights: np.ndarray,
    B: np.ndarray,
    *,
    exact: bool,
    n_hidden: int,
    activation: str,
    loss: str,
    huber_delta: float,
    lr: float,
    weight_decay: float,
    n_steps: int,
    init_scale: float,
    n_threads: Optional[int],
    rng: np.random.Generator,
) -> tuple[Stage, np.ndarray]:
    """An 'easy' stage: the outliers of the gated S, and the gated phase 1 that learns them.
    With nothing outside the bulk: no directions, unless ``exact`` (a fixed stage count, or the
    first stage, so that there is a network), which keeps the leading one."""
    n, d = Xp.shape
    values, _, bounds = stage_outliers(
        LocalHessian(Xp, weights, n_threads=n_threads), B.shape[0] > 0
    )
    k = values.size
    if k == 0 and not exact:
        empty = Stage("easy", np.zeros((0, d)), values, bounds, 0, n, np.zeros(0))
        return empty, np.zeros((0, d))
    W0, b, a = symmetric_init(n_hidden, d, 1.0, 1.0, rng, np.float64)
    if B.shape[0]:
        W0 = W0 - (W0 @ B.T) @ B
    W0 *= init_scale / np.linalg.norm(W0, axis=1, keepdims=True)
    result = core.phase1_run(
        Xp,
        labels.astype(Xp.dtype),
        W0.astype(Xp.dtype),
        b,
        a,
        activation=activation,
        loss=loss,
        huber_delta=huber_delta,
        lr=lr,
        weight_decay=weight_decay,
        n_steps=n_steps,
        keep_scale="auto",
        sample_weight=None if B.shape[0] == 0 else gate,
        n_threads=n_threads,
    )
    W = np.asarray(result.W, dtype=np.float64)
    directions = orthonormal_complement_rows(neuron_subspace(W, max(k, 1)), B)
    # The neurons' own directions within the learned span, for the final network.
    V = (W @ directions.T) @ directions
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    stage = Stage("easy", directions, values, bounds, n_steps, n, result.loss)
    return stage, V
