"""The documentation gallery (examples/, run by .ci/docs) holds one example per shipped
experiment, each running that experiment's own point function, plot and table."""

from pathlib import Path

import pytest

from mimkit.experiments.definitions import EXPERIMENTS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_one_gallery_example_per_shipped_experiment():
    if not EXAMPLES.is_dir():
        pytest.skip("no examples/ next to the tests: not a source checkout")
    scripts = {
        p.stem.removeprefix("plot_").replace("_", "-"): p for p in EXAMPLES.glob("plot_*.py")
    }
    assert sorted(scripts) == sorted(EXPERIMENTS)
    for name, script in scripts.items():
        text = script.read_text()
        assert f'get_experiment("{name}")' in text, script.name
        for call in ("run_sweep(", "experiment.plot(", "experiment.table("):
            assert call in text, f"{script.name} does not call {call}"
