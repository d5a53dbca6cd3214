"""
Sample complexity is linear in d
================================

Recovery and test error against alpha = n1/d for two dimensions: the curves collapse in alpha
and leave zero at the threshold the theory predicts for the Huber loss.

This is the ``sample-complexity`` experiment (``mimkit sweep sample-complexity``) on a small grid,
one seed; the full-size figure and its table are in
:doc:`docs/experiments/sample-complexity.md </experiments/sample-complexity>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("sample-complexity")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid(
    {"d": [64, 128], "alpha": [0.5, 2.0, 8.0], "width": [16], "n_test": [1024], "steps": [12]},
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
