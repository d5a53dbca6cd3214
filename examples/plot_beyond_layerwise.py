"""
Beyond layer-wise training
==========================

The paper's layer-wise network, refined, without sample splitting, JointRegressor,
scikit-learn's MLPRegressor and the optimal spectral method + phase 2 on the same samples:
test error and subspace distance against alpha.

This is the ``beyond-layerwise`` experiment (``mimkit sweep beyond-layerwise``) on a small grid,
one seed; the full-size figure and its table are in
:doc:`docs/experiments/beyond-layerwise.md </experiments/beyond-layerwise>`.
"""

import tempfile

from mimkit.experiments import LocalBackend, ResultStore, load, run_sweep
from mimkit.experiments.definitions import get_experiment

experiment = get_experiment("beyond-layerwise")
print(experiment.summary)

# %%
# Every parameter not given here keeps the experiment's default (``mimkit list -v``).
grid = experiment.grid(
    {
        "link": ["z1z2"],
        "alpha": [4.0, 32.0],
        "d": [64],
        "width": [8],
        "n_test": [1024],
        "mlp_max_iter": [30],
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
