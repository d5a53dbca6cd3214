"""mimkit: learn Gaussian multi-index models with two-layer networks trained layer by layer."""

from __future__ import annotations

# Submodules users reach as attributes (mimkit.core, mimkit.theory, ...). mimkit.distributed
# (needs dask) and mimkit.experiments are imported on demand.
from . import (
    _console,  # noqa: F401 (first: Ctrl-C while the `mimkit` script starts exits 130 quietly)
    core,
    data,
    links,
    metrics,
    network,
    options,
    preprocessing,
    reference,
    spectral,
    theory,
    training,
)
from ._config import __version__, config, show_config
from .data import MultiIndexModel, make_multi_index
from .estimators import PHD, SAVE, SIR, JointRegressor, LayerwiseRegressor, SpectralEstimator
from .links import LINKS, Link, get_link
from .network import TwoLayerNetwork
from .preprocessing import make_preprocessing, optimal_preprocessing
from .spectral import LocalHessian, power_iteration, spectral_subspace, top_eigenpairs
from .stream import StreamedData
from .theory import network_threshold, weak_recovery_threshold
from .training import train_layerwise

__all__ = [
    "LINKS",
    "PHD",
    "SAVE",
    "SIR",
    "JointRegressor",
    "LayerwiseRegressor",
    "Link",
    "LocalHessian",
    "MultiIndexModel",
    "SpectralEstimator",
    "StreamedData",
    "TwoLayerNetwork",
    "__version__",
    "config",
    "core",
    "data",
    "get_link",
    "links",
    "make_multi_index",
    "make_preprocessing",
    "metrics",
    "network",
    "network_threshold",
    "optimal_preprocessing",
    "options",
    "power_iteration",
    "preprocessing",
    "reference",
    "show_config",
    "spectral",
    "spectral_subspace",
    "theory",
    "top_eigenpairs",
    "train_layerwise",
    "training",
    "weak_recovery_threshold",
]
