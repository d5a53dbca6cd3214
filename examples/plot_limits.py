"""
The network against the limits
==============================

The network against the optimal spectral method and Bayes-optimal AMP (on the data and by
its state evolution), overlap and test error against alpha. The experiment runs four links;
here one, ``z1 * z2``, to keep it quick.

This is the ``limits`` experiment (``mimkit sweep limits``) on a small grid,
one seed; the full-size figure and its table are in
:doc:`docs/experiments/limits.md </experiments/limits>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("limits")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid(
    {
        "case": ["z1z2"],
        "alpha": [1.0, 2.0, 4.0],
        "d": [128],
        "width": [16],
        "n_test": [1024],
        "steps": [12],
        "amp_iter": [20],
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
