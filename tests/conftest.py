"""Shared pytest options (slow statistical tests run only with ``--runslow``) and the Ctrl-C
subprocess harness."""

import subprocess
import sys
import textwrap

import pytest
from hypothesis import settings

# Property tests draw their examples from a fixed seed: a run is reproducible, and CI cannot go
# red on an example no earlier run tried (a fresh clone has no example database).
settings.register_profile("mimkit", derandomize=True)
settings.load_profile("mimkit")


@pytest.fixture(autouse=True, scope="session")
def _private_theory_cache(tmp_path_factory):
    """The commands' theory cache (mimkit.theory_cache) in a folder of this test session, so
    that no test reads or writes the user's cache folder (subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIMKIT_CACHE_DIR", str(tmp_path_factory.mktemp("mimkit-cache")))
        yield


def pytest_addoption(parser):
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="also run the slow statistical tests (the full set)",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow statistical test: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


#: Prepended to every Ctrl-C script: restores Python's SIGINT handler (a parent that runs the
#: tests in the background may have set SIGINT to "ignore", which a child inherits) and defines
#: ``interrupted(call)``: run ``call()``, send this process SIGINT after ``delay`` seconds, and
#: return the seconds from the signal to the KeyboardInterrupt ("finished" if call ended first).
_INTERRUPT_HARNESS = textwrap.dedent(
    """
    import os, signal, threading, time
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupted(call, delay=0.3):
        sent = []

        def interrupt():
            sent.append(time.perf_counter())
            os.kill(os.getpid(), signal.SIGINT)

        timer = threading.Timer(delay, interrupt)
        timer.start()
        try:
            call()
        except KeyboardInterrupt:
            return time.perf_counter() - sent[0]
        timer.cancel()
        timer.join()
        return "finished"
    """
)

#: Interrupt latency accepted on a loaded CI machine. Each interruptible loop checks for
#: Ctrl-C once per step (milliseconds here); the margin is for a machine whose cores are busy.
INTERRUPT_LATENCY_S = 2.0


@pytest.fixture
def run_with_interrupts():
    """Run a script (which may call ``interrupted``) in a fresh interpreter; its stdout lines
    ``key value`` as a dict. The process must exit cleanly."""

    def run(script: str, timeout: float = 240.0) -> dict:
        source = _INTERRUPT_HARNESS + textwrap.dedent(script)
        out = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, text=True, timeout=timeout
        )
        assert out.returncode == 0, out.stderr
        return dict(line.split(maxsplit=1) for line in out.stdout.strip().splitlines())

    return run
