"""scikit-learn estimators (thin wrappers over training and spectral methods)."""
from .layerwise import LayerwiseRegressor

__all__ = ["LayerwiseRegressor"]
