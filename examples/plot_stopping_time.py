"""
The stopping-time window
========================

Coverage, alignment and test error against the number of phase-1 steps T1, from one recorded
trajectory per point: too few steps leave the noise, too many collapse every neuron onto the
leading direction.

This is the ``stopping-time`` experiment (``mimkit sweep stopping-time``) on a small grid,
one seed; the full-size figure and its table are in
:doc:`docs/experiments/stopping-time.md </experiments/stopping-time>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("stopping-time")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid(
    {"d": [128], "alpha": [8.0], "width": [16], "n_test": [1024], "max_steps": [40]}, seeds=1
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
# The experiment's figure, drawn from the records.
figure = experiment.plot(records, manifest)

# %%
# Its summary table (means over seeds).
experiment.table(records)
