"""scikit-learn estimators (thin wrappers over training and spectral methods)."""

from .layerwise import LayerwiseRegressor
from .sdr import PHD, SAVE, SIR, SpectralEstimator

__all__ = ["LayerwiseRegressor", "PHD", "SIR", "SAVE", "SpectralEstimator"]
