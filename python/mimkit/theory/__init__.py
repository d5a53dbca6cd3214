"""Asymptotic theory of preprocessed spectral methods and of the network's phase 1.

* :mod:`.thresholds`: where recovery starts (weak-recovery thresholds ``alpha_c``);
* :mod:`.overlap`: how well it recovers above them (overlaps, outliers, bulk edges).
"""

from .overlap import OverlapResult, network_overlap, spectral_overlap
from .thresholds import ThresholdResult, network_threshold, weak_recovery_threshold

__all__ = [
    "OverlapResult",
    "ThresholdResult",
    "network_overlap",
    "network_threshold",
    "spectral_overlap",
    "weak_recovery_threshold",
]
