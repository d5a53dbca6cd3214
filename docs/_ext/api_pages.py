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


def _directive(module: ModuleType, name: str) -> str:
    obj = getattr(module, name)
    if isinstance(obj, ModuleType):
        return ""  # a module has its own page
    if inspect.isclass(obj):
        return f".. autoclass:: {module.__name__}.{name}\n   :members:\n"
    if callable(obj):
        return f".. autofunction:: {module.__name__}.{name}\n"
    return f".. autodata:: {module.__name__}.{name}\n   :no-value:\n"


def module_page(module_name: str, documented: set[int]) -> str:
    """reST of one module's page; ``documented`` (object ids) is updated."""
    module = importlib.import_module(module_name)
    title = f"``{module_name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {module_name}", "   :no-members:", ""]
    submodules = [
        f"{module_name}.{n}"
        for n in public_names(module_name)
        if isinstance(getattr(module, n), ModuleType)
    ]
    if submodules:
        lines += ["Modules: " + ", ".join(f":doc:`{m}`" for m in submodules) + ".", ""]
    for name in public_names(module_name):
        directive = _directive(module, name)
        if not directive:
            continue
        obj = getattr(module, name)
        # Containers are compared by identity; small constants (str, int) never are.
        key = id(obj) if callable(obj) or isinstance(obj, (tuple, dict, list)) else None
        if key is not None and key in documented:
            directive = directive.rstrip("\n") + "\n   :no-index:\n"
        elif key is not None:
            documented.add(key)
        lines += [directive]
    return "\n".join(lines)


def write_pages(out: Path) -> list[str]:
    """Write ``index.rst`` and one page per public module into ``out``; the module names."""
    out.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    documented: set[int] = set()
    for name in modules:
        text = module_page(name, documented)
        target = out / f"{name}.rst"
        if not target.exists() or target.read_text() != text:  # keep Sphinx's cache valid
            target.write_text(text)
    index = ["API reference", "=============", "",
             "Every public name of mimkit, generated from the docstrings.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
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
