"""A sphinx-gallery image scraper for figures an example holds in a variable.

mimkit's plots are ``matplotlib.figure.Figure`` objects made without pyplot (so that plotting
never depends on a GUI backend), which sphinx-gallery's matplotlib scraper, reading pyplot's
figure list, never sees. This one saves every Figure among the example's globals that it has
not saved yet, after each code block.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from sphinx_gallery.scrapers import figure_rst

_saved: dict[str, set[int]] = {}  # example file -> ids of the figures saved from it


def scrape_held_figures(block, block_vars, gallery_conf) -> str:
    saved = _saved.setdefault(block_vars["src_file"], set())
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if isinstance(value, Figure) and id(value) not in saved:
            saved.add(id(value))
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=100, bbox_inches="tight")
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
