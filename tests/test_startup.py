"""Start-up stays light: `import mimkit` and the `mimkit` command's parser load scikit-learn,
pandas, pyarrow, matplotlib and dask (and scipy, the compiled core) only when a command needs
them, while every public name still resolves (checked through sys.modules, never by timing)."""

import json
import subprocess
import sys
import types

import pytest

import mimkit

HEAVY = ("sklearn", "pandas", "pyarrow", "matplotlib", "dask", "distributed", "scipy")


def _modules_loaded_by(code: str) -> list[str]:
    """Top-level packages among HEAVY that a fresh interpreter holds after running ``code``."""
    script = (
        f"import sys, json\n{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.splitlines()[-1])


def test_the_probe_sees_a_heavy_import():
    # The check below could pass by never seeing anything: it must see pandas when it is loaded.
    assert "pandas" in _modules_loaded_by("import pandas")


def test_import_mimkit_loads_no_heavy_dependency():
    assert _modules_loaded_by("import mimkit") == []


def test_building_the_command_line_parser_loads_no_heavy_dependency():
    assert _modules_loaded_by("import mimkit.cli; mimkit.cli.build_parser()") == []


@pytest.mark.parametrize("name", sorted(mimkit.__all__))
def test_every_public_name_resolves(name):
    value = getattr(mimkit, name)
    if isinstance(value, types.ModuleType):
        assert value.__name__ == f"mimkit.{name}"
    else:
        assert name in dir(mimkit)


def test_public_names_are_the_same_objects_as_in_their_modules():
    from mimkit.estimators import LayerwiseRegressor
    from mimkit.spectral import spectral_subspace
    from mimkit.theory import weak_recovery_threshold

    assert mimkit.LayerwiseRegressor is LayerwiseRegressor
    assert mimkit.spectral_subspace is spectral_subspace
    assert mimkit.weak_recovery_threshold is weak_recovery_threshold


def test_an_unknown_attribute_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no_such_name"):
        mimkit.no_such_name  # noqa: B018


def test_star_import_gives_every_public_name():
    namespace: dict = {}
    exec("from mimkit import *", namespace)
    assert set(mimkit.__all__) <= set(namespace)
