"""The API reference, generated from ``__all__``: one page per public module.

The public modules are ``mimkit``, every subpackage with an ``__all__`` and every module that
``mimkit.__all__`` names. A module with ``__all__`` documents exactly those names; one without
documents the classes and functions it defines and its UPPER_CASE constants. An object is
indexed on the first page that documents it (``mimkit`` first), later pages repeat it with
``:no-index:``. ``tests/test_api_reference.py`` checks the listing and the docstrings.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

PACKAGE = "mimkit"


def public_modules() -> list[str]:
    """``mimkit``, its subpackages that have ``__all__``, then the modules ``mimkit.__all__``
    names, in that order, without repeats."""
    package = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.iter_modules(package.__path__, PACKAGE + "."):
        if info.ispkg and not info.name.rsplit(".", 1)[1].startswith("_"):
            if hasattr(importlib.import_module(info.name), "__all__"):
                names.append(info.name)
    for name in package.__all__:
        if isinstance(getattr(package, name), ModuleType):
            full = f"{PACKAGE}.{name}"
            if full not in names:
                names.append(full)
    return names


def public_names(module_name: str) -> list[str]:
    """The names a module's page documents (see the module docstring)."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    names = []
    for name, obj in vars(module).items():
        if name.startswith("_") or isinstance(obj, ModuleType):
            continue
        defined_here = getattr(obj, "__module__", None) == module_name
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and defined_here:
            names.append(name)
        elif name.isupper() and not callable(obj):
            names.append(name)
    return sorted(names)


def _kind(obj) -> str:
    if isinstance(obj, ModuleType):
        return "module"  # it has its own page
    if inspect.isclass(obj):
        return "class"
    if inspect.isroutine(obj):
        return "function"
    return "data"  # constants, type aliases


def entries() -> list[tuple[str, str, str, bool]]:
    """``(module, name, kind, indexed)`` for every documented name, page by page: an object
    is indexed (gets its anchor) on the first page that documents it."""
    documented: set[int] = set()
    rows = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            obj = getattr(module, name)
            kind = _kind(obj)
            # Objects are recognised by identity; small constants (str, int) never are.
            key = (
                id(obj) if kind in ("class", "function") or isinstance(obj, (tuple, dict)) else None
            )
            indexed = key is None or key not in documented
            if key is not None:
                documented.add(key)
            rows.append((module_name, name, kind, indexed))
    return rows


_DIRECTIVES = {
    "class": ".. autoclass:: {}\n   :members:\n",
    "function": ".. autofunction:: {}\n",
    "data": ".. autodata:: {}\n   :no-value:\n",
}


def module_page(module_name: str, rows: list[tuple[str, str, str, bool]]) -> str:
    """reST of one module's page from its :func:`entries` rows."""
    title = f"``{module_name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {module_name}", "   :no-members:", ""]
    mine = [row for row in rows if row[0] == module_name]
    submodules = [f"{module_name}.{name}" for _, name, kind, _ in mine if kind == "module"]
    if submodules:
        lines += ["Modules: " + ", ".join(f":doc:`{m}`" for m in submodules) + ".", ""]
    for _, name, kind, indexed in mine:
        if kind == "module":
            continue
        directive = _DIRECTIVES[kind].format(f"{module_name}.{name}")
        if not indexed:
            directive += "   :no-index:\n"
        lines.append(directive)
    return "\n".join(lines)


def write_pages(out: Path) -> list[str]:
    """Write ``index.rst`` and one page per public module into ``out``; the module names."""
    out.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    rows = entries()
    for name in modules:
        text = module_page(name, rows)
        target = out / f"{name}.rst"
        if not target.exists() or target.read_text() != text:  # keep Sphinx's cache valid
            target.write_text(text)
    index = [
        "API reference",
        "=============",
        "",
        "Every public name of mimkit, generated from the docstrings.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    index += [f"   {name}" for name in modules]
    text = "\n".join(index) + "\n"
    if not (out / "index.rst").exists() or (out / "index.rst").read_text() != text:
        (out / "index.rst").write_text(text)
    return modules


def _generate(app) -> None:
    write_pages(Path(app.srcdir) / "api")


def setup(app):
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
