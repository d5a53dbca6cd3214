"""The command line at its limits: sizes the machine cannot hold, outputs checked before work,
Ctrl-C while the script starts. Each is one line naming the argument, never a traceback."""

import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mimkit
from mimkit import core
from mimkit.cli import main

TINY_RUN = "run --d 16 --alpha 2 --n-test 16 --width 4 --no-baseline"


def _run(capsys, command: str) -> tuple[int, str, str]:
    code = main(shlex.split(command))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "extra, needles",
    [
        (f"--steps {2**70}", ["n_steps must be an integer in [0, ", str(2**70)]),
        (f"--steps {2**63}", ["n_steps must be an integer in [0, "]),
        (f"--steps {10**12}", ["n_steps = 1000000000000", "memory", "fewer steps"]),
        ("--alpha 1e300", ["--alpha 1e+300", "memory", "--stream"]),
        ("--alpha 1e300 --stream", ["--alpha", "2**63"]),
    ],
)
def test_sizes_beyond_the_machine_name_their_argument(capsys, extra, needles):
    # Refused, not attempted: an attempt would allocate or loop for hours, not return 2.
    code, _, err = _run(capsys, f"{TINY_RUN} {extra}")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "(self:" not in err, err
    for needle in needles:
        assert needle in lines[0], err


def test_library_sizes_beyond_the_machine_name_their_argument():
    model = mimkit.MultiIndexModel(8, "z1z2", random_state=0)
    with pytest.raises(ValueError, match=r"n = 1e\+40 samples of d = 8 .* memory"):
        model.sample(10**40)
    with pytest.raises(ValueError, match=r"n must be below 2\*\*63"):
        model.stream(2**63)
    X, y = model.sample(32, random_state=1)
    W = np.full((2, 8), 1e-3)
    kw = dict(activation="logcosh", loss="squared", lr=1.0, weight_decay=0.0)
    with pytest.raises(ValueError, match="n_steps must be an integer in"):
        core.phase1_run(X, y, W, np.zeros(2), np.array([1.0, -1.0]), n_steps=2**63, **kw)
    with pytest.raises(ValueError, match=r"n_steps = 1e\+18 .* memory"):
        core.phase1_run(X, y, W, np.zeros(2), np.array([1.0, -1.0]), n_steps=10**18, **kw)


@pytest.mark.parametrize("where", ["file", "file/below"])
def test_bench_checks_its_output_folder_before_running(tmp_path, capsys, where):
    (tmp_path / "file").write_text("mine")
    out = tmp_path / where
    code, stdout, err = _run(capsys, f"bench phase1-step --quick --out {out}")
    assert code == 2 and stdout == ""  # no benchmark (nor its header) ran
    assert str(out) in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "file").read_text() == "mine"


def test_ctrl_c_while_the_script_imports_exits_130_quietly(tmp_path):
    # A copy of the console script pip writes, named like it, that gets SIGINT while the
    # package imports its compiled core (a deterministic moment inside the start-up).
    script = tmp_path / "mimkit"
    script.write_text(
        textwrap.dedent("""
        import os, signal, sys

        class InterruptOnCore:
            def find_spec(self, name, path=None, target=None):
                if name == "mimkit.core":
                    os.kill(os.getpid(), signal.SIGINT)
                return None

        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.meta_path.insert(0, InterruptOnCore())
        from mimkit.cli import main
        sys.exit(main())
        """)
    )
    out = subprocess.run(
        [sys.executable, str(script), "info"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 130, out.stderr
    assert "Traceback" not in out.stderr and out.stderr.strip() == "mimkit: interrupted"
    # Any other program importing mimkit still sees its KeyboardInterrupt.
    other = tmp_path / "analysis.py"
    other.write_text(script.read_text())
    out = subprocess.run(
        [sys.executable, str(other), "info"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode != 130 and "KeyboardInterrupt" in out.stderr


@pytest.mark.slow  # ~1 s of waiting; the sweep's twin runs by default
def test_run_with_an_unreachable_dask_scheduler_is_one_line(capsys, monkeypatch):
    distributed = pytest.importorskip("distributed")
    real, timeouts = distributed.Client, []

    def client(*args, **kwargs):  # the real Client, which is told our timeout
        timeouts.append(kwargs.get("timeout"))
        return real(*args, **kwargs)

    monkeypatch.setattr(distributed, "Client", client)
    code, _, err = _run(capsys, f"{TINY_RUN} --stream --dask tcp://127.0.0.1:1 --timeout 1")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "--dask tcp://127.0.0.1:1" in err and "within 1 s" in err and "--timeout" in err
    assert timeouts == [1.0]  # the timeout given, not dask's default 30 s
