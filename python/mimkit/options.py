"""The names every option of mimkit accepts, in one place.

Validation (``_validation.check_name``) and the command line (``choices=``) read these tuples;
nothing else spells the lists out.
"""

from __future__ import annotations

#: Hidden-unit activations sigma of the network (the core implements each one).
ACTIVATIONS: tuple[str, ...] = ("logcosh", "quadratic", "cos")
#: Phase-1 losses of the core; each is a label preprocessing ``T(y) = -loss'(c, y)``.
LOSSES: tuple[str, ...] = ("squared", "absolute", "huber")
#: Named label preprocessings T(y) of the spectral methods (``"optimal"`` needs the link).
PREPROCESSINGS: tuple[str, ...] = (
    "identity",
    "squared",
    "sign",
    "absolute",
    "huber",
    "capped",
    "modulus",
    "optimal",
)
#: How the identity component of the local Hessian is removed (``mimkit.spectral``).
CENTERINGS: tuple[str, ...] = ("mean", "identity", "none")
#: Which end of the spectrum an eigen-solver returns: by |value|, the top or the bottom.
EIGEN_WHICH: tuple[str, ...] = ("abs", "largest", "smallest")
#: Eigen-solvers of ``spectral.top_eigenpairs``: chosen by cost, explicit S, or Lanczos.
EIGEN_METHODS: tuple[str, ...] = ("auto", "explicit", "lanczos")
#: What a diverged phase-1 run does.
ON_DIVERGENCE: tuple[str, ...] = ("raise", "warn")
#: Slicing rules of SIR and SAVE: R dr's (ties kept together) or equal counts (statsmodels).
SLICINGS: tuple[str, ...] = ("dr", "equal")
#: Dimension tests of SIR, SAVE and pHd: normal theory, general (any X), permutation.
DIMENSION_TESTS: tuple[str, ...] = ("normal", "general", "permutation")
#: Optimisers of joint training (``mimkit.joint_training``): full-batch L-BFGS or Adam.
JOINT_METHODS: tuple[str, ...] = ("lbfgs", "adam")
#: Which samples phase 2 fits: its own (the paper's sample splitting) or phase 1's again.
PHASE2_DATA: tuple[str, ...] = ("fresh", "reuse")
#: Generators of ``MultiIndexModel.sample``: the core's counter-based one, or numpy's PCG64.
SAMPLE_GENERATORS: tuple[str, ...] = ("philox", "numpy")
#: Default seconds ``mimkit run --dask`` waits for its scheduler (``RunSettings.timeout``).
DASK_TIMEOUT: float = 30.0
