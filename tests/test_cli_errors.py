"""Bad and odd inputs to the command line (exit status 2 and one clear line, no traceback): each
bad input gives a ValueError / TypeError whose message names the argument (and the fix); odd but
valid inputs (int, read-only, strided, memory-mapped arrays) give the same result as a plain
C-ordered float64 array."""

import re

import pytest

from mimkit.cli import main

SMALL = "run --d 8 --alpha 4 --n-test 50 --width 4 --no-baseline".split()
CLI_CASES = [
    (["--d", "0"], "--d must be a positive integer"),
    (["--d", "-3"], "--d must be a positive integer"),
    (["--d", "1"], "d = 1 is smaller than the link's r = 2"),
    (["--d", "abc"], "argument --d: invalid int value"),
    (["--width", "3"], "--width must be even"),
    (["--width", "0"], "--width must be a positive integer"),
    (["--alpha", "-1"], "--alpha and --alpha2 must be positive"),
    (["--alpha", "nan"], "--alpha and --alpha2 must be"),
    (["--alpha", "inf"], "--alpha and --alpha2 must be .*finite"),
    (["--alpha2", "0"], "--alpha and --alpha2 must be positive"),
    (["--n-test", "1"], "--n-test must be an integer >= 2"),
    (["--link", "foo"], "argument --link: invalid choice: 'foo'"),
    (["--loss", "foo"], "argument --loss: invalid choice: 'foo'"),
    (["--noise", "-1"], "noise must be >= 0"),
    (["--noise", "inf"], "noise must be a finite"),
    (["--lr", "-1"], "lr must be > 0"),
    (["--lr", "nan"], "lr must be a finite"),
    (["--weight-decay", "-1"], "weight_decay must be >= 0"),
    (["--steps", "-1"], "n_steps must be an integer >= 0"),
    (["--init-scale", "0"], "init_scale must be > 0"),
    (["--huber-delta", "0"], "huber_delta must be > 0"),
    (["--threads", "0"], "n_threads must be an integer >= 1"),
    (["--link", "z1z2", "--r", "3"], "has r = 2; got r=3"),
]


@pytest.mark.parametrize("args, message", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_cli_bad_arguments_exit_2_with_a_clear_message(capsys, args, message):
    try:
        status = main(SMALL + args)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("mimkit run: error: ")
    assert re.search(message, err), err


def test_cli_reports_a_problem_too_large_for_memory(capsys):
    # n1 = 1e9 * 512 samples: the (n1, d) array (2 PiB) exceeds any machine's memory; the
    # error names the argument to lower before anything is allocated.
    assert main("run --d 512 --alpha 1e9 --no-baseline".split()) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "mimkit run: error: --alpha 1e+09" in err
    assert "of memory, more than this machine's" in err
