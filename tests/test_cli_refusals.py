"""``mimkit run`` refuses before any work what it would ignore or cannot hold, in one line
naming the option; Ctrl-C during --refine exits 130."""

import shlex
import warnings

import numpy as np
import pandas as pd
import pytest

from mimkit import _limits, joint_training, run_workflow
from mimkit.cli import main

TINY = "run --d 16 --alpha 2 --n-test 16 --width 4 --no-baseline"


def _refused(capsys, command: str, *needles: str) -> str:
    assert main(shlex.split(command)) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mimkit run: error: "), err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


@pytest.mark.parametrize(
    "extra, needles",
    [
        ("--timeout -1", ["--timeout is how long --dask waits", "add --dask, or drop it"]),
        ("--stream --dask local --timeout -1", ["--timeout must be a positive number", "-1"]),
        ("--refine-max-iter 5", ["--refine-max-iter only tunes --refine", "add --refine"]),
        ("--refine-tol 0.1", ["--refine-tol only tunes --refine"]),
    ],
)
def test_ignored_settings_are_refused(capsys, extra, needles):
    _refused(capsys, f"{TINY} {extra}", *needles)


@pytest.fixture
def small_csv(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((60, 3)), columns=["a", "b", "y"])
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    return path


def test_problem_flags_with_data_are_refused_by_name(capsys, small_csv):
    _refused(
        capsys,
        f"run --data {small_csv} --target y --d 64 --link he2_sum --no-baseline",
        "--d, --link, --no-baseline: apply to sampled problems, not --data",
        "drop them",
    )


def test_data_errors_are_one_line(capsys, tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a\n1\n2,3,4\n")  # pandas' own message ends in a newline
    _refused(capsys, f"run --data {ragged} --target a", f"--data {ragged}: cannot read it")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    for scale, fate in ((1e200, "overflow"), (1e-200, "underflow")):
        frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1] * scale, "y": X[:, 2]})
        frame.to_csv(tmp_path / "scaled.csv", index=False)
        _refused(
            capsys,
            f"run --data {tmp_path / 'scaled.csv'} --target y",
            "column 'b' holds values up to",
            f"whose squares {fate} float64",
            "rescale it",
        )


@pytest.mark.parametrize(
    "width, needles",
    [
        (10_000_000, ["--width 10000000 (phase 2: a 10000000 x 10000000 Gram matrix"]),
        (200_000, ["--width 200000 (phase 2", "lower --width"]),
    ],
)
def test_widths_beyond_memory_are_refused_before_any_work(capsys, monkeypatch, width, needles):
    monkeypatch.setattr(_limits, "physical_memory", lambda: 64 * 2**30)
    _refused(capsys, f"run --d 512 --width {width}", *needles, "more than this machine's 64 GiB")


def test_baselines_beyond_memory_name_no_baseline(capsys, monkeypatch):
    monkeypatch.setattr(_limits, "physical_memory", lambda: 64 * 2**30)
    command = "run --d 100000 --alpha 0.02 --n-test 16"
    _refused(capsys, command, "--d 100000 (the spectral baselines'", "pass --no-baseline")


def test_an_absurd_step_count_is_named_before_any_work(monkeypatch):
    sampled = []
    monkeypatch.setattr(run_workflow, "_sample", lambda *args: sampled.append(args))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the warning stops the run where it is
        with pytest.raises(UserWarning, match=r"--steps 1000000000: .* 2\.1e\+18 .* hours"):
            main(shlex.split("run --d 512 --steps 1000000000"))
    assert sampled == []


def test_ctrl_c_during_refine_exits_130_with_the_report_marked(capsys, monkeypatch):
    real, calls = joint_training._Tracker.evaluate, []

    def interrupt_the_second(self, *args):
        calls.append(1)
        if len(calls) == 2:  # as Ctrl-C would, after the start was evaluated
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(joint_training._Tracker, "evaluate", interrupt_the_second)
    with warnings.catch_warnings():
        warnings.simplefilter("default", RuntimeWarning)  # shown, on one line, not raised
        code = main(shlex.split("run --d 16 --alpha 4 --n-test 64 --width 4 --refine lbfgs"))
    out, err = capsys.readouterr()
    assert code == 130
    assert err.startswith("mimkit run: warning: joint training interrupted at iteration 1")
    assert "stop: interrupted" in out and "(interrupted: Ctrl-C during --refine" in out
    assert "spectral" not in out  # the baselines were skipped
