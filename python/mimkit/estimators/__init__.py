"""scikit-learn estimators (thin wrappers over training and spectral methods)."""

from .amp import AMPEstimator
from .joint import JointRegressor
from .layerwise import LayerwiseRegressor
from .sdr import PHD, SAVE, SIR, SpectralEstimator
from .slicing import slice_response

__all__ = [
    "AMPEstimator",
    "JointRegressor",
    "LayerwiseRegressor",
    "PHD",
    "SIR",
    "SAVE",
    "SpectralEstimator",
    "slice_response",
]
