"""The GAMP-iteration benchmark at tiny sizes: it runs, times are positive, the ratio is the
iteration over the sum of its parts."""

import math

from mimkit.benchmarks import amp, suite, timing
from mimkit.benchmarks.timing import markdown_table


def test_amp_benchmark_rows(monkeypatch):
    monkeypatch.setattr(timing, "SETTLE_S", 0.0)
    rows = amp.measure(n=300, d=40, cases=(("z1z2", None), ("norm2", 1)), repeats=2)
    assert [(r["link"], r["r"]) for r in rows] == [("z1z2", 2), ("norm2", 1)]
    for r in rows:
        keys = ("step_s", "gemms_s", "channel_s", "step_over_gemms", "step_over_parts")
        for key in (*keys, "channel_share"):
            assert math.isfinite(r[key]) and r[key] > 0, (key, r[key])
    assert len(markdown_table(amp.COLUMNS, rows).splitlines()) == 2 + len(rows)
    assert "amp" in suite.BENCHMARKS
