"""mimkit's docstrings are numpydoc written to be read as plain text too: ``|x|`` is an
absolute value and ``n_features_in_`` a fitted attribute, where reST would see a substitution
and a link target. After numpydoc has turned a docstring into reST, this escapes both outside
literals, maths and code blocks. It also leaves out the ``set_*_request`` methods scikit-learn
adds to every estimator, whose docstrings point into scikit-learn's own documentation."""

from __future__ import annotations

import re

#: ``...`` and `...` spans (literals, roles, maths roles), kept as they are.
_LITERAL = re.compile(r"(``.+?``|:?[\w:+-]*`[^`]+`_{0,2})")
_ABSOLUTE = re.compile(r"(?<![\\|])\|(?=\S)([^|`]*?\S)\|(?!\|)")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=$|[^\w`])")


def _escape(text: str) -> str:
    pieces = _LITERAL.split(text)
    for i in range(0, len(pieces), 2):  # the even pieces lie outside literals
        piece = _ABSOLUTE.sub(r"\\|\1\\|", pieces[i])
        pieces[i] = _TRAILING_UNDERSCORE.sub(r"\\_", piece)
    return "".join(pieces)


def escape_lines(lines: list[str]) -> list[str]:
    """The docstring's reST lines with ``|x|`` and ``name_`` escaped, except inside literal
    blocks (after ``::``), directives' bodies (maths, code) and doctest lines."""
    out, block_indent = [], None
    for line in lines:
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if block_indent is not None and (not stripped or indent > block_indent):
            out.append(line)
            continue
        block_indent = None
        if stripped.startswith((">>>", "...")):
            out.append(line)
            continue
        if stripped.startswith(".. ") or stripped.endswith("::"):
            block_indent = indent
            out.append(line if stripped.startswith(".. ") else _escape(line))
            continue
        out.append(_escape(line))
    return out


def _process(app, what, name, obj, options, lines):
    lines[:] = escape_lines(lines)


def _skip(app, what, name, obj, skip, options):
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _process, priority=600)  # after numpydoc (500)
    app.connect("autodoc-skip-member", _skip)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
