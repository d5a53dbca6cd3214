"""The API reference (docs/_ext/api_pages.py) documents every public name: each name in
``mimkit.__all__`` and in each subpackage's ``__all__`` gets a page entry, and its docstring has
the numpydoc sections a reader needs (Parameters where it takes arguments, Returns where a
function returns something)."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import mimkit

API_PAGES = Path(__file__).resolve().parents[1] / "docs" / "_ext" / "api_pages.py"


@pytest.fixture(scope="module")
def api_pages():
    if not API_PAGES.exists():
        pytest.skip("no docs/ next to the tests: not a source checkout")
    spec = importlib.util.spec_from_file_location("api_pages", API_PAGES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _public_packages_with_all() -> list[str]:
    """Every public package of mimkit (at any depth) that declares ``__all__``."""
    found = ["mimkit"]
    for info in pkgutil.walk_packages(mimkit.__path__, "mimkit."):
        parts = info.name.split(".")
        if info.ispkg and not any(p.startswith("_") for p in parts):
            if hasattr(importlib.import_module(info.name), "__all__"):
                found.append(info.name)
    return found


def _exported() -> list[tuple[str, str]]:
    """(module, name) for every name in the ``__all__`` of mimkit and of its subpackages."""
    return [
        (module, name)
        for module in _public_packages_with_all()
        for name in importlib.import_module(module).__all__
    ]


def test_every_package_with_all_and_every_module_mimkit_exports_has_a_page(api_pages):
    listed = api_pages.public_modules()
    assert len(listed) == len(set(listed))
    exported_modules = [
        f"mimkit.{n}" for n in mimkit.__all__ if isinstance(getattr(mimkit, n), ModuleType)
    ]
    missing = sorted(set(_public_packages_with_all() + exported_modules) - set(listed))
    assert not missing, f"public modules without an API page: {missing}"


def test_every_exported_name_appears_on_its_module_page(api_pages):
    rows = api_pages.entries()
    pages = {m: api_pages.module_page(m, rows) for m in api_pages.public_modules()}
    missing = []
    for module, name in _exported():
        obj = getattr(importlib.import_module(module), name)
        entry = f":doc:`{module}.{name}`" if isinstance(obj, ModuleType) else f"{module}.{name}\n"
        if entry not in pages[module]:
            missing.append(f"{module}.{name}")
    assert not missing, f"names missing from the API reference: {missing}"


def _sections(obj) -> dict[str, list[str]]:
    """numpydoc sections of ``obj``'s docstring: title -> its entry lines (the unindented
    ``name : type`` lines under the title and its dashes)."""
    lines = (inspect.getdoc(obj) or "").splitlines()
    sections: dict[str, list[str]] = {}
    current = None
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and set(following.strip()) == {"-"} and not line.startswith(" "):
            current = sections.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.startswith(" "):
            if set(line.strip()) != {"-"}:
                current.append(line)
    return sections


def _takes_arguments(signature: inspect.Signature) -> bool:
    return any(name not in ("self", "cls") for name in signature.parameters)


def _returns_something(func) -> bool:
    annotation = inspect.signature(func).return_annotation
    return annotation not in (None, "None")


def _missing_sections(obj) -> list[str]:
    if isinstance(obj, ModuleType):
        return [] if inspect.getdoc(obj) else ["docstring"]
    if inspect.isclass(obj) and issubclass(obj, Exception):
        return []  # raised by mimkit, never constructed by a user
    if inspect.isclass(obj):
        doc = _sections(obj)
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):  # a compiled class without a Python signature
            return []
        if not _takes_arguments(signature) or doc.get("Parameters"):
            return []
        # A record (dataclass, named tuple) documents its fields, its constructor's
        # parameters, as Attributes.
        record = dataclasses.is_dataclass(obj) or hasattr(obj, "_fields")
        return [] if record and doc.get("Attributes") else ["Parameters"]
    if inspect.isroutine(obj):
        doc = _sections(obj)
        missing = []
        if _takes_arguments(inspect.signature(obj)) and not doc.get("Parameters"):
            missing.append("Parameters")
        if _returns_something(obj) and not (doc.get("Returns") or doc.get("Yields")):
            missing.append("Returns")
        return missing
    return []  # constants: documented by their module page


def test_every_exported_name_has_parameters_and_returns_sections():
    bad = []
    for module, name in _exported():
        missing = _missing_sections(getattr(importlib.import_module(module), name))
        if missing:
            bad.append(f"{module}.{name}: no {' / '.join(missing)} section")
    assert not bad, "numpydoc sections missing:\n" + "\n".join(bad)


def test_the_section_check_can_fail():
    def undocumented(x):
        return x

    def documented(x):
        """Identity.

        Parameters
        ----------
        x : object

        Returns
        -------
        object
        """
        return x

    @dataclasses.dataclass
    class Record:
        """A result.

        Attributes
        ----------
        x : float
        """

        x: float

    class Undocumented:
        def __init__(self, x):
            self.x = x

    assert _missing_sections(undocumented) == ["Parameters", "Returns"]
    assert _missing_sections(documented) == []
    assert _missing_sections(Record) == []
    assert _missing_sections(Undocumented) == ["Parameters"]
