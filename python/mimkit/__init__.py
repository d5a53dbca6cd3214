"""mimkit: learn Gaussian multi-index models with two-layer networks trained layer by layer."""

from __future__ import annotations

__version__ = "0.1.0"

# --- core (compiled) ---
# --- data, links, training, metrics, estimators ---
# --- spectral methods and theory ---
from . import (
    core,
    data,
    links,
    metrics,
    network,
    preprocessing,
    reference,
    spectral,
    theory,
    training,
)
from ._config import config, show_config
from .data import MultiIndexModel, make_multi_index
from .estimators import LayerwiseRegressor
from .links import LINKS, Link, get_link
from .network import TwoLayerNetwork
from .preprocessing import make_preprocessing, optimal_preprocessing
from .spectral import LocalHessian, power_iteration, spectral_subspace, top_eigenpairs
from .stream import StreamedData  # mimkit.distributed (needs dask) is imported on demand
from .theory import network_threshold, weak_recovery_threshold
from .training import train_layerwise
# --- experiments ---
