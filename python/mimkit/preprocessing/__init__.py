"""Label preprocessings ``T(y)``: the named transforms and the losses as preprocessings
(:mod:`.transforms`), and the optimal preprocessing of a link (:mod:`.optimal`).

Theory: docs/theory.md, "Phase 1" (losses as preprocessings) and "Spectral methods".
"""

from .optimal import (
    OptimalPreprocessing,
    default_center,
    optimal_preprocessing,
    quadrature_tabulates,
)
from .transforms import (
    Preprocessing,
    apply_preprocessing,
    loss_location,
    loss_preprocessing,
    loss_transform,
    make_preprocessing,
)

__all__ = [
    "OptimalPreprocessing",
    "Preprocessing",
    "apply_preprocessing",
    "default_center",
    "loss_location",
    "loss_preprocessing",
    "loss_transform",
    "make_preprocessing",
    "optimal_preprocessing",
    "quadrature_tabulates",
]
