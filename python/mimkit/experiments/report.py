"""``mimkit plot``: a PNG and a Markdown table from a sweep folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .definitions import get_experiment
from .plots import markdown_table, save_figure
from .store import PathLike, ResultStore, load


def render(folder: PathLike, out_dir: Optional[PathLike] = None) -> tuple[Path, Path]:
    """Plot and tabulate the finished points of a sweep folder.

    Parameters
    ----------
    folder : path
        Output folder of ``mimkit sweep``.
    out_dir : path, optional
        Where to write ``<experiment>.png`` and ``<experiment>.md``; default ``folder``.

    Returns
    -------
    (png path, markdown path)

    Raises
    ------
    FileNotFoundError
        If ``folder`` is not a sweep folder.
    ValueError
        If no point has finished yet, or the experiment is unknown.
    """
    manifest = ResultStore(folder).read_manifest()
    experiment = get_experiment(manifest["experiment"])
    df = load(folder)
    if df.empty:
        raise ValueError(f"{folder} has no finished points yet; run the sweep first")
    out = Path(out_dir) if out_dir is not None else Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    png = save_figure(experiment.plot(df, manifest), out / f"{experiment.name}.png")
    commands = "\n".join(run["command"] for run in manifest["runs"])
    n_points = df["point_id"].nunique()
    text = (
        f"# {experiment.name}\n\n{experiment.summary}\n\n"
        f"![{experiment.name}]({png.name})\n\n"
        f"Made by (mimkit {manifest.get('mimkit_version', '?')}, {n_points} points, "
        f"then `mimkit plot`):\n\n```\n{commands}\n```\n\n"
        f"{markdown_table(experiment.table(df))}"
    )
    md = out / f"{experiment.name}.md"
    md.write_text(text)
    return png, md
