"""
Learning stage by stage
=======================

``sq_sign3`` and ``sign_committee``: the overlap with each stage's subspace against
alpha = n/d for the paper's network, the staged network and the sequential spectral method,
with the staged methods' predicted curves and their stage thresholds.

This is the ``staircase`` experiment (``mimkit sweep staircase``) on a small grid, one seed;
the full-size figure and its table are in
:doc:`docs/experiments/staircase.md </experiments/staircase>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("staircase")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid(
    {"alpha": [16.0, 64.0], "d": [64], "width": [16], "n_test": [512]},
    seeds=1,
)
with tempfile.TemporaryDirectory() as out:
    run_sweep(
        experiment.point,
        grid,
        out,
        experiment=experiment.name,
        backend=LocalBackend(n_workers=1),
        progress=False,
    )
    with ResultStore(out) as store:
        manifest = store.read_manifest()
    records = load(out)
print(f"{len(records)} records of {records['point_id'].nunique()} points")

# %%
# The experiment's figure, drawn from the records: points measured, dashed lines predicted
# (mimkit.theory.staged), dotted lines the stage thresholds.
figure = experiment.plot(records, manifest)

# %%
# Its summary table (means over seeds) with the predictions beside the measurements.
experiment.table(records)
