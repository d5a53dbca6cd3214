"""``mimkit sweep / plot / export``: a user's mistake is one line and exit 2, never a traceback."""

import os
import shlex
import warnings

import pandas as pd
import pytest

from mimkit.cli import main
from mimkit.experiments import load

TINY = "learning-rate --set d=32 --set alpha=4.0 --set max_steps=5 --set lr=0.5,1.0 --seeds 1"


def _run(capsys, command: str) -> tuple[int, str, str]:
    code = main(shlex.split(command))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], err


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A finished one-point sweep folder (with its plot)."""
    out = tmp_path_factory.mktemp("sweep") / "out"
    assert main(shlex.split(f"sweep {TINY} --workers 1 --quiet --out {out}")) == 0
    return out


@pytest.mark.parametrize(
    "setting, needle",
    [
        ("link=nope", "unknown link 'nope'"),
        ("width=3", "width must be an even integer"),
        ("lr=-1", "lr must be > 0"),
        ("d=0", "d must be an integer >= 1"),
        ("noise=-1", "noise must be >= 0"),
        ("lr=0.5,-1", "lr must be > 0"),
        ("lr=1e300", "lr = 1e+300 is far above 1: lower lr"),
        ("init_scale=1e-300", "init_scale = 1e-300 underflows: raise init_scale"),
        ("limits:case=foo", "unknown case 'foo'; choose one of z1z2"),
        ("limits:amp_iter=0", "amp_iter must be an integer >= 1"),
        ("staircase:method=nope", "unknown method 'nope'; choose one of network"),
        ("staircase:spectral_preprocessing=optimal", "unknown spectral_preprocessing 'optimal'"),
    ],
)
def test_bad_grid_values_stop_before_any_file(tmp_path, capsys, setting, needle):
    experiment, _, setting = setting.rpartition(":")
    out = tmp_path / "out"
    command = (
        f"sweep {experiment or 'learning-rate'} --set {setting} --workers 1 --quiet --out {out}"
    )
    code, _, err = _run(capsys, command)
    assert code == 2
    _one_line_error(err, f"--set {setting.split('=')[0]}=", needle)
    assert not out.exists()


def test_every_parameter_of_every_experiment_is_checked_before_a_sweep():
    from mimkit.experiments.checks import _CHECKS
    from mimkit.experiments.definitions import EXPERIMENTS

    unchecked = {
        f"{exp.name}: {name}"
        for exp in EXPERIMENTS.values()
        for name in {**exp.parameters, **exp.full_fixed, **exp.full_swept}
        if name not in _CHECKS and name != "loss"  # loss: checked against each experiment's own
    }
    assert unchecked == set()


@pytest.mark.parametrize(
    "where, needle",
    [("file", "is a file, not a folder"), ("file/out", "cannot create the folder")],
)
def test_an_out_that_cannot_be_a_folder_is_one_line(tmp_path, capsys, where, needle):
    (tmp_path / "file").write_text("mine")
    out = tmp_path / where
    code, _, err = _run(capsys, f"sweep {TINY} --workers 1 --quiet --out {out}")
    assert code == 2
    _one_line_error(err, str(out), needle)
    assert (tmp_path / "file").read_text() == "mine"


def test_an_unrelated_folder_is_not_written_into(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("mine")
    code, _, err = _run(capsys, f"sweep {TINY} --workers 1 --quiet --out {tmp_path}")
    assert code == 2
    _one_line_error(err, str(tmp_path), "not empty")
    assert [f.name for f in tmp_path.iterdir()] == ["thesis.tex"]


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path, capsys):
    command = f"sweep {TINY} --backend dask --scheduler tcp://127.0.0.1:1 --timeout 1 --quiet"
    code, _, err = _run(capsys, f"{command} --out {tmp_path / 'out'}")
    assert code == 2
    _one_line_error(err, "tcp://127.0.0.1:1", "within 1 s", "--timeout")


def test_plot_to_a_file_is_one_line(swept, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("mine")
    code, _, err = _run(capsys, f"plot {swept} --to {target}")
    assert code == 2
    _one_line_error(err, str(target), "is a file")


def test_plot_replaces_links_and_follows_the_umask(swept, tmp_path, capsys):
    outside = tmp_path / "outside.md"
    outside.write_text("not yours")
    to = tmp_path / "to"
    to.mkdir()
    (to / "learning-rate.md").symlink_to(outside)
    (to / "learning-rate.png").symlink_to(tmp_path / "missing.png")
    old = os.umask(0o022)
    try:
        code, _, _ = _run(capsys, f"plot {swept} --to {to}")
    finally:
        os.umask(old)
    assert code == 0
    assert outside.read_text() == "not yours" and not (tmp_path / "missing.png").exists()
    for name in ("learning-rate.md", "learning-rate.png"):
        path = to / name
        assert not path.is_symlink() and path.stat().st_mode & 0o777 == 0o644
    assert sorted(f.name for f in to.iterdir()) == ["learning-rate.md", "learning-rate.png"]


def test_export_writes_the_records_as_parquet(swept, tmp_path, capsys):
    target = tmp_path / "records.parquet"
    code, out, _ = _run(capsys, f"export {swept} --parquet {target}")
    assert code == 0 and str(target) in out
    pd.testing.assert_frame_equal(pd.read_parquet(target), load(swept))
    code, _, err = _run(capsys, f"export {swept} --parquet {tmp_path}")
    assert code == 2
    _one_line_error(err, str(tmp_path))
    code, _, err = _run(capsys, f"export {tmp_path} --parquet {target}")
    assert code == 2
    _one_line_error(err, str(tmp_path), "not a sweep output folder")


def test_a_timeout_the_local_backend_would_ignore_is_refused(tmp_path, capsys):
    for timeout in ("-1", "5"):
        code, _, err = _run(capsys, f"sweep {TINY} --timeout {timeout} --out {tmp_path / 'o'}")
        assert code == 2
        _one_line_error(err, "--timeout is how long --backend dask waits", "drop it")
    command = f"sweep {TINY} --backend dask --timeout -1 --out {tmp_path / 'o'}"
    code, _, err = _run(capsys, command)
    assert code == 2
    _one_line_error(err, "--timeout must be a positive number of seconds, got -1")
    assert not (tmp_path / "o").exists()


def test_more_workers_than_points_are_capped_with_a_warning(tmp_path):
    from mimkit.experiments import LocalBackend

    assert LocalBackend(n_workers=100, threads_per_worker=1).settings(3) == (3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # stops the sweep where it warns
        with pytest.raises(UserWarning, match="--workers 100 for 2 points: starting 2"):
            main(shlex.split(f"sweep {TINY} --workers 100 --out {tmp_path / 'o'}"))
    assert not (tmp_path / "o").exists()  # named before any work
