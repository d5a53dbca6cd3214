"""
The loss is a label preprocessing
=================================

Each loss trains phase 1 on its own preprocessing of the labels, ``T(y) = -loss'(c, y)``, and
recovers the subspace from its own threshold along its own predicted curve. The experiment
compares squared, absolute and Huber losses, the optimal ``T*(y)`` and the best scalar ``T(y)``;
here three of them, to keep it quick.

This is the ``loss-preprocessing`` experiment (``mimkit sweep loss-preprocessing``) on a small grid,
one seed; the full-size figure and its table are in
:doc:`docs/experiments/loss-preprocessing.md </experiments/loss-preprocessing>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("loss-preprocessing")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid(
    {
        "loss": ["absolute", "huber", "optimal"],
        "d": [128],
        "alpha": [1.0, 4.0, 16.0],
        "width": [16],
        "n_test": [1024],
        "steps": [12],
    },
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
# The experiment's figure, drawn from the records.
figure = experiment.plot(records, manifest)

# %%
# Its summary table (means over seeds).
experiment.table(records)
