"""The version is written once, in pyproject.toml; the package and every compiled core variant
report that same string."""

import importlib
import re
from pathlib import Path

import pytest

import mimkit
from mimkit import _core_base
from mimkit._native import native

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def pyproject_version() -> str:
    if not PYPROJECT.exists():
        pytest.skip("no pyproject.toml: not a source checkout")
    match = re.search(r'^version = "([^"]+)"$', PYPROJECT.read_text(), re.MULTILINE)
    assert match, "pyproject.toml has no [project] version line"
    return match.group(1)


def test_package_and_loaded_core_report_the_pyproject_version():
    version = pyproject_version()
    assert mimkit.__version__ == version
    assert native.build_info()["version"] == version
    info = mimkit.config()
    assert info["mimkit_version"] == info["core_version"] == version


@pytest.mark.parametrize("level", ["base", "v3", "v4"])
def test_every_built_variant_reports_it(level):
    if not _core_base.cpu_supports(level):  # importing it could then fault
        pytest.skip(f"this CPU does not run the {level} variant")
    try:
        core = importlib.import_module(f"mimkit._core_{level}")
    except ImportError:
        pytest.skip(f"the {level} variant is not built on this platform")
    assert core.build_info()["version"] == pyproject_version()


def test_cli_version_flag_prints_the_package_version(capsys):
    from mimkit.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mimkit {mimkit.__version__}"
