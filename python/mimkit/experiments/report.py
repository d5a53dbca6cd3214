"""``mimkit plot``: a PNG and a Markdown table from a sweep folder."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

from ._files import atomic_write, make_folder
from .definitions import get_experiment
from .figure_source import SOURCE_MARK, source_digest
from .plots import markdown_table, save_figure
from .store import PathLike, ResultStore, load
from .theory_store import sweep_theory


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
        If no point has finished yet, the experiment is unknown, the store is damaged or an
        output cannot be written (each naming the path).

    Notes
    -----
    Both files are written atomically and replace a symbolic link of the same name instead
    of following it: nothing outside ``out_dir`` is written.
    """
    with ResultStore(folder, readonly=True) as store:
        manifest = store.read_manifest()
        source = source_digest(store)
    experiment = get_experiment(manifest["experiment"])
    df = load(folder)
    if df.empty:
        raise ValueError(f"{folder} has no finished points yet; run the sweep first")
    out = Path(out_dir) if out_dir is not None else Path(folder)
    make_folder(out, "--to" if out_dir is not None else "folder")
    png = out / f"{experiment.name}.png"
    image = io.BytesIO()
    with sweep_theory(folder):  # the theory curves: computed once, kept in the sweep's store
        figure = experiment.plot(df, manifest)
        table = experiment.table(df)
    save_figure(figure, image)
    atomic_write(png, image.getvalue())
    commands = "\n".join(run["command"] for run in manifest["runs"])
    n_points = df["point_id"].nunique()
    text = (
        f"# {experiment.name}\n\n{experiment.summary}\n\n"
        f"![{experiment.name}]({png.name})\n\n"
        f"Made by (mimkit {manifest.get('mimkit_version', '?')}, {n_points} points, "
        f"then `mimkit plot`):\n\n```\n{commands}\n```\n\n"
        f"{markdown_table(table)}"
        f"\n{SOURCE_MARK}{source} -->\n"
    )
    md = out / f"{experiment.name}.md"
    atomic_write(md, text.encode())
    return png, md
