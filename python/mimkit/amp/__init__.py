"""Bayes-optimal approximate message passing (GAMP) for multi-index models, and its state
evolution: the best polynomial-time recovery known when the link is known.

``make_channel`` builds the output denoiser of a link; ``gamp`` runs the iteration on data;
``amp_overlap`` (also ``mimkit.theory.amp_overlap``) is the state-evolution prediction.
"""

from .channel import Channel, QuadratureChannel
from .factory import make_channel
from .gamp import GAMPResult, gamp
from .state_evolution import (
    AMPOverlap,
    AMPThreshold,
    amp_overlap,
    amp_threshold,
    bayes_test_error,
)

__all__ = [
    "AMPOverlap",
    "AMPThreshold",
    "Channel",
    "GAMPResult",
    "QuadratureChannel",
    "amp_overlap",
    "amp_threshold",
    "bayes_test_error",
    "gamp",
    "make_channel",
]
