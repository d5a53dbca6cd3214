"""mimkit: learn Gaussian multi-index models with two-layer networks trained layer by layer."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _console  # noqa: F401 (first: Ctrl-C while the `mimkit` script starts exits 130 quietly)
from ._config import __version__, config, show_config

# Every other public name is imported on first use (PEP 562), so `import mimkit` and the
# `mimkit` command start without loading the compiled core, scipy, scikit-learn or pandas
# until something needs them. Submodules reached as attributes (mimkit.core, mimkit.theory, ...)
# load the same way; mimkit.distributed (needs dask) and mimkit.experiments are not listed.
_SUBMODULES = (
    "core",
    "data",
    "links",
    "metrics",
    "network",
    "options",
    "preprocessing",
    "reference",
    "spectral",
    "theory",
    "training",
)
_NAMES = {
    "MultiIndexModel": "data",
    "make_multi_index": "data",
    "PHD": "estimators",
    "SAVE": "estimators",
    "SIR": "estimators",
    "JointRegressor": "estimators",
    "LayerwiseRegressor": "estimators",
    "SpectralEstimator": "estimators",
    "LINKS": "links",
    "Link": "links",
    "get_link": "links",
    "TwoLayerNetwork": "network",
    "make_preprocessing": "preprocessing",
    "optimal_preprocessing": "preprocessing",
    "LocalHessian": "spectral",
    "power_iteration": "spectral",
    "spectral_subspace": "spectral",
    "top_eigenpairs": "spectral",
    "StreamedData": "stream",
    "network_threshold": "theory",
    "weak_recovery_threshold": "theory",
    "train_layerwise": "training",
}

if TYPE_CHECKING:
    from . import (
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
    from .data import MultiIndexModel, make_multi_index
    from .estimators import PHD, SAVE, SIR, JointRegressor, LayerwiseRegressor, SpectralEstimator
    from .links import LINKS, Link, get_link
    from .network import TwoLayerNetwork
    from .preprocessing import make_preprocessing, optimal_preprocessing
    from .spectral import LocalHessian, power_iteration, spectral_subspace, top_eigenpairs
    from .stream import StreamedData
    from .theory import network_threshold, weak_recovery_threshold
    from .training import train_layerwise


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
