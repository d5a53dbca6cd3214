"""A core built without OpenMP (a compiler without it, or ``-DMIMKIT_OPENMP=OFF``) still works:
``mimkit info`` says "OpenMP: no (1 thread)" and ``n_threads > 1`` warns once, not an error.
``.ci/no-openmp`` runs this file against such a build; here the serial case is simulated."""

import warnings

import numpy as np
import pytest

import mimkit
from mimkit import _config, core
from mimkit._native import native


@pytest.fixture
def serial_core(monkeypatch):
    """Pretend the loaded core has no OpenMP; the once-per-process flag starts unset."""
    monkeypatch.setattr(_config, "core_has_openmp", lambda: False)
    monkeypatch.setattr(_config, "_serial_warning_given", False)


@pytest.fixture
def fresh_warning_flag(monkeypatch):
    monkeypatch.setattr(_config, "_serial_warning_given", False)


def _forward(n_threads):
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((64, 8)), rng.standard_normal((4, 8))
    return core.forward(X, W, np.zeros(4), np.ones(4), "logcosh", n_threads=n_threads)


def test_serial_core_warns_once_for_many_threads_and_still_computes(serial_core):
    with pytest.warns(RuntimeWarning, match="built without OpenMP: n_threads=2") as record:
        first = _forward(2)
        second = _forward(3)
    assert len(record) == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, _forward(1))


def test_serial_core_is_silent_for_one_thread_or_the_default(serial_core):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _forward(1)
        _forward(None)


def test_core_with_openmp_never_warns(monkeypatch, fresh_warning_flag):
    monkeypatch.setattr(_config, "core_has_openmp", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _forward(2)


def test_the_loaded_core_warns_exactly_when_it_lacks_openmp(fresh_warning_flag):
    serial = native.build_info()["openmp"] == 0
    assert _config.core_has_openmp() is not serial
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        _forward(2)
    assert len(record) == int(serial)


@pytest.mark.parametrize(
    ("openmp", "threads", "line"),
    [
        (0, 1, "OpenMP: no (1 thread)"),
        (201511, 1, "OpenMP: yes (1 thread)"),
        (201511, 8, "OpenMP: yes (8 threads)"),
    ],
)
def test_show_config_has_one_openmp_line(monkeypatch, capsys, openmp, threads, line):
    facts = dict(mimkit.config(), openmp=openmp, openmp_max_threads=threads)
    monkeypatch.setattr(_config, "config", lambda: facts)
    mimkit.show_config()
    out = capsys.readouterr().out
    assert [row.strip() for row in out.splitlines() if "OpenMP" in row] == [line]
    assert "openmp" not in out


def test_show_config_describes_the_loaded_core(capsys):
    mimkit.show_config()
    out = capsys.readouterr().out
    info = native.build_info()
    expected = "no (1 thread)" if info["openmp"] == 0 else "yes ("
    assert f"OpenMP: {expected}" in out
