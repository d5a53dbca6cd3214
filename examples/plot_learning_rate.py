"""
Small learning rates stall
==========================

Recovery against the phase-1 learning rate eta1 at fixed weight decay: with eta1 * beta1 < 1
the identity part of the step dominates and learning stalls.

This is the ``learning-rate`` experiment (``mimkit sweep learning-rate``) on a small grid,
one seed; the full-size figure and its table are in
:doc:`docs/experiments/learning-rate.md </experiments/learning-rate>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("learning-rate")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid({"d": [128], "width": [16], "max_steps": [40]}, seeds=1)
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
