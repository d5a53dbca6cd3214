"""Properties of the code base itself: no import cycles (deferred imports included),
array-holding records without ``==``, no global matplotlib state changed by importing mimkit."""

import ast
import dataclasses
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mimkit

PACKAGE_DIR = Path(mimkit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE_DIR / rel).with_suffix(".py").is_file() or (
        PACKAGE_DIR / rel / "__init__.py"
    ).is_file()


def _imports(path: Path, name: str) -> set[str]:
    """mimkit modules that ``name`` imports, at module level or deferred inside a function
    (a deferred import is still a dependency: two modules that import each other, even
    lazily, are one module in two files). Imports under ``if TYPE_CHECKING`` do not count."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                found |= {a.name for a in sub.names if a.name.startswith("mimkit")}
            elif isinstance(sub, ast.ImportFrom):
                if sub.level:
                    target = ".".join(
                        base[: len(base) - sub.level + 1] + ([sub.module] if sub.module else [])
                    )
                else:
                    target = sub.module or ""
                if not target.startswith("mimkit"):
                    continue
                for alias in sub.names:
                    child = f"{target}.{alias.name}"
                    found.add(child if _is_module(child) else target)
    return found - {"mimkit"}  # the root package's __init__ imports every submodule


def _import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        name = _module_name(path)
        graph[name] = {m for m in _imports(path, name) if m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_finds_a_cycle_when_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_mimkit_has_no_import_cycle():
    graph = _import_graph()
    assert "mimkit._validation" in graph and "mimkit.core" in graph
    # Subpackages, deferred imports included (experiments.cli imports the definitions inside
    # its commands): store <-> _legacy, both deferred, was a cycle this test missed.
    assert "mimkit.experiments._legacy" in graph["mimkit.experiments.store"]
    assert "mimkit.experiments.definitions" in graph["mimkit.experiments.cli"]
    assert _cycles(graph) == []


def _mimkit_dataclasses():
    for info in pkgutil.walk_packages(mimkit.__path__, "mimkit."):
        if info.name == "mimkit.distributed" or info.name.endswith("__main__"):
            continue  # needs dask / runs a command line; neither holds a dataclass
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if dataclasses.is_dataclass(obj) and isinstance(obj, type):
                if obj.__module__ == info.name:
                    yield obj


ARRAY_HINTS = ("ndarray", "TwoLayerNetwork", "Phase1Result", "LocalHessian", "MultiIndexModel")


def test_records_holding_arrays_do_not_define_equality():
    # == on numpy arrays is elementwise, so a generated __eq__ raises ("truth value of an
    # array is ambiguous"); such records compare by identity.
    offenders = []
    for cls in _mimkit_dataclasses():
        hints = " ".join(str(f.type) for f in dataclasses.fields(cls) if f.compare)
        if any(h in hints for h in ARRAY_HINTS) and cls.__dataclass_params__.eq:
            offenders.append(f"{cls.__module__}.{cls.__qualname__}")
    assert offenders == []


def test_importing_mimkit_leaves_the_matplotlib_backend_alone():
    pytest.importorskip("matplotlib")
    script = (
        "import sys, matplotlib; before = matplotlib.get_backend(); "
        "import mimkit.experiments.definitions, mimkit.experiments.plots; "
        "print(before == matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"MPLBACKEND": "svg", "PATH": ""},
        timeout=120,
    )
    assert out.stdout.split() == ["True", "False"], out.stderr


def test_minimum_versions_job_installs_the_declared_floors():
    """Every runtime dependency's floor (installed metadata) is what .ci/min-versions.txt pins
    (which may also hold back a dependency of a dependency)."""
    from importlib.metadata import requires

    pins_file = Path(__file__).resolve().parents[1] / ".ci" / "min-versions.txt"
    if not pins_file.is_file():
        pytest.skip("not a source checkout")
    floors = {}
    for requirement in requires("mimkit") or []:
        if "extra ==" in requirement:
            continue
        name, _, version = requirement.partition(">=")
        floors[name.strip().lower()] = version.split(",")[0].strip()
    pins = {}
    for line in pins_file.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip().removesuffix(".*")
    assert {name: pins.get(name) for name in floors} == floors


def test_the_core_stub_names_what_the_compiled_module_defines():
    from mimkit._native import native

    stub = ast.parse((PACKAGE_DIR / "_core_base.pyi").read_text())
    declared = {
        node.name for node in stub.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }
    defined = {name for name in dir(native) if not name.startswith("_")}
    assert declared == defined, "regenerate python/mimkit/_core_base.pyi (pybind11-stubgen)"


def test_pre_commit_uses_the_lint_versions_pinned_for_ci():
    from importlib.metadata import requires

    config = Path(__file__).resolve().parents[1] / ".pre-commit-config.yaml"
    if not config.is_file():
        pytest.skip("not a source checkout")
    pinned = {
        r.split(";")[0].strip()
        for r in requires("mimkit") or []
        if r.startswith(("ruff==", "clang-format=="))
    }
    used = set(re.findall(r'"((?:ruff|clang-format)==[^"]+)"', config.read_text()))
    assert used and used == pinned
