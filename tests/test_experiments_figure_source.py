"""A resumed sweep with nothing to compute keeps its figure; anything new redraws it."""

import shlex

from mimkit.cli import main

TINY = "learning-rate --set d=32 --set alpha=4.0 --set max_steps=5 --set lr=0.5 --workers 1 --quiet"


def test_resumed_sweep_redraws_only_what_changed(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(shlex.split(f"sweep {TINY} --seeds 1 --out {out}")) == 0
    png, md = out / "learning-rate.png", out / "learning-rate.md"
    first = (png.stat().st_mtime_ns, md.read_text())
    assert "wrote" in capsys.readouterr().out

    assert main(shlex.split(f"sweep {TINY} --seeds 1 --out {out}")) == 0
    assert "up to date" in capsys.readouterr().out
    assert (png.stat().st_mtime_ns, md.read_text()) == first

    # a table edited by hand (or one from an older mimkit) is drawn again
    md.write_text(first[1].replace("plot source", "plot  source"))
    assert main(shlex.split(f"sweep {TINY} --seeds 1 --out {out}")) == 0
    assert "wrote" in capsys.readouterr().out
    source_line = first[1].splitlines()[-1]
    assert md.read_text().splitlines()[-1] == source_line  # same points, same source

    # one more seed: a new point, a new figure
    assert main(shlex.split(f"sweep {TINY} --seeds 2 --out {out}")) == 0
    assert "wrote" in capsys.readouterr().out
    assert md.read_text().splitlines()[-1] != source_line
