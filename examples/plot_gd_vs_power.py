"""
Phase-1 gradient descent is power iteration
===========================================

At a small initial scale every neuron of phase-1 gradient descent follows power iteration on
the local Hessian S to rounding; a large init leaves the linear regime.

This is the ``gd-vs-power`` experiment (``mimkit sweep gd-vs-power``) on a small grid,
one seed; the full-size figure and its table are in
:doc:`docs/experiments/gd-vs-power.md </experiments/gd-vs-power>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("gd-vs-power")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid({"d": [128], "width": [16], "steps": [12]}, seeds=1)
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
