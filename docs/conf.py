"""Sphinx configuration of mimkit's documentation site (built by .ci/docs)."""

import os
import sys
from pathlib import Path

import mimkit

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "mimkit"
author = "the mimkit developers"
copyright = "the mimkit developers"
release = mimkit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax copied into the site: maths without a network
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "api_pages",
    "plain_docstrings",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "gallery/*.py", "gallery/*.ipynb", "gallery/*.md5", "gallery/*.zip"]

# Markdown pages (the guide, the theory, the experiments) with $...$ and $$...$$ maths and
# anchors for "#section" links.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 4

autodoc_typehints = "none"  # numpydoc's Parameters section says the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "gallery",
    # Every example runs; MIMKIT_GALLERY_ONLY=plot_limits (a regex) runs only the matching
    # ones while a page is being written.
    "filename_pattern": os.environ.get("MIMKIT_GALLERY_ONLY", r"/plot_"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "min_reported_time": 0,
    # mimkit's figures are made without pyplot: the scraper saves those the example holds.
    "image_scrapers": ("figure_scraper.scrape_held_figures",),
}

html_theme = "pydata_sphinx_theme"
html_title = f"mimkit {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "header_links_before_dropdown": 6,
    "navbar_align": "left",
}
# Single pages have no section navigation: no empty left sidebar there.
html_sidebars = {page: [] for page in ("index", "getting-started", "theory", "changelog")}
html_show_sourcelink = False
html_copy_source = False  # no _sources/ copies of the pages in the built site
