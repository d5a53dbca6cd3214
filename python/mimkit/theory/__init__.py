"""Asymptotic theory of preprocessed spectral methods and of the network's phase 1.

* :mod:`.thresholds`: where recovery starts (weak-recovery thresholds ``alpha_c``);
* :mod:`.overlap`: how well it recovers above them (overlaps, outliers, bulk edges);
* :mod:`.bulk` and :mod:`.phase1`: the bulk's spectral law, and phase 1 at finite d and T1;
* :mod:`.losses`: which loss to use (every built-in loss against the optimal spectral method);
* :mod:`.stages`: the learning order (trivial, easy and hard stages, and their thresholds);
* :mod:`.staged`: the second stage of the sequential spectral method and the staged network;
* ``amp_overlap`` (from :mod:`mimkit.amp`): the limit, Bayes-optimal AMP's state evolution.

Every function takes the problem the same way -- ``link``, what is asked (a preprocessing, a
loss, ``alpha``), ``r=None``, then keyword-only ``noise``, Monte Carlo ``n_samples``,
``method`` and ``random_state`` -- so their signatures are deliberate look-alikes, checked by
one helper (:class:`.thresholds.Problem`). Expectations are by quadrature for r <= 3 (a
:class:`QuadratureWarning` where it misses its stated tolerance) and Monte Carlo otherwise
(:mod:`mimkit._label_law`; docs/theory.md, "How expectations are computed").
"""

from .._quadrature import QuadratureWarning
from ..amp.state_evolution import amp_overlap
from .losses import best_label_transform, compare_losses
from .overlap import OverlapResult, network_overlap, spectral_overlap
from .phase1 import Phase1Curve, phase1_curve
from .staged import StagedOverlapResult, staged_network_overlap, staged_spectral_overlap
from .stages import LearningStage, LearningStages, learning_stages
from .thresholds import ThresholdResult, network_threshold, weak_recovery_threshold

__all__ = [
    "LearningStage",
    "LearningStages",
    "OverlapResult",
    "Phase1Curve",
    "QuadratureWarning",
    "StagedOverlapResult",
    "ThresholdResult",
    "amp_overlap",
    "best_label_transform",
    "compare_losses",
    "learning_stages",
    "network_overlap",
    "network_threshold",
    "phase1_curve",
    "spectral_overlap",
    "staged_network_overlap",
    "staged_spectral_overlap",
    "weak_recovery_threshold",
]
