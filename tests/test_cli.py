"""The `mimkit` console script: the default problem is learnt; text and JSON reports; errors."""

import json
import re

from mimkit.cli import build_parser, main


def test_default_problem_is_learnt(capsys):
    # Acceptance: `mimkit run` with defaults (z1*z2, d = 512, n1 = n2 = 32 d) recovers the
    # subspace and predicts; measured distance 0.071 and MSE/Var 0.133 (bounds 0.1 and 0.2).
    assert main(["run", "--json", "--no-baseline"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["problem"]["link"] == "z1z2" and report["sizes"]["n1"] == 32 * 512
    net = report["network"]
    assert net["subspace_distance"] < 0.1 and net["strong_recovery"]
    assert net["test_error"] < 0.2
    assert min(net["coverage"]) > 0
    assert set(report["seconds"]) == {"sampling", "phase1", "phase2", "total"}
    assert report["peak_memory_bytes"] > report["sizes"]["data_bytes"]
    assert not report["sizes"]["streamed"]


HE2_RUN = "run --d 96 --alpha 16 --link he2_sum --r 2 --width 16 --n-test 500 --seed 3".split()


def test_the_total_time_counts_the_baselines(capsys):
    assert main([*HE2_RUN, "--json"]) == 0
    sec = json.loads(capsys.readouterr().out)["seconds"]
    assert sec["baselines"] > 0
    assert sec["total"] >= sec["sampling"] + sec["phase1"] + sec["phase2"] + sec["baselines"]


def test_text_report_with_spectral_baselines(capsys):
    assert main(HE2_RUN) == 0
    out = capsys.readouterr().out
    for expected in (
        "He2(z1)+...+He2(z2)",
        "n1 = 1536",
        "phase 1",
        "network (layer-wise)",
        "spectral, huber T (as phase 1)",
        "spectral, optimal T",
        "coverage",
    ):
        assert expected in out
    assert main([*HE2_RUN, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [b["method"] for b in report["spectral"]] == [
        "spectral, huber T (as phase 1)",
        "spectral, optimal T",
    ]


def test_errors_are_reported_not_raised(capsys):
    assert main("run --d 32 --width 7 --no-baseline".split()) == 2
    assert "n_hidden must be an even integer" in capsys.readouterr().err
    assert main(["run", "--alpha", "-1", "--no-baseline"]) == 2
    assert "--alpha" in capsys.readouterr().err


def test_info_and_parser(capsys):
    assert main(["info"]) == 0
    assert capsys.readouterr().out.strip()
    parser = build_parser()
    assert parser.parse_args(["run"]).d == 512


def test_even_transform_unlocks_the_tanh_committee(capsys):
    # tanh(z1) + tanh(z2) is odd, so every odd preprocessing (the Huber default) gives a local
    # Hessian without signal: distance ~ 1 - r/d. |y| is even and has a clear outlier at
    # n1 = 32 d (measured distance 0.10 at d = 128); 0.2 and 0.8 are the margins.
    common = "run --d 96 --link tanh_committee --n-test 500 --json --no-baseline".split()
    assert main(common) == 0
    assert json.loads(capsys.readouterr().out)["network"]["subspace_distance"] > 0.8
    assert main(common + ["--loss", "squared", "--transform", "modulus"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["training"]["transform"] == "modulus"
    assert report["network"]["subspace_distance"] < 0.2


def test_streamed_run_never_stores_the_data(capsys):
    # --stream learns the same kind of problem from rows regenerated on every pass (float32 by
    # default); no spectral baselines. At d = 128, alpha = 32 the in-memory run gives distance
    # ~0.08 (bound 0.2).
    assert main("run --stream --d 128 --n-test 2000 --json".split()) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sizes"]["streamed"] and report["sizes"]["dtype"] == "float32"
    assert "spectral" not in report
    assert report["network"]["subspace_distance"] < 0.2
    assert main("run --stream --d 64 --alpha 8 --n-test 500 --dtype float64".split()) == 0
    out = capsys.readouterr().out
    assert "streamed: never stored" in out and "peak memory" in out and "float64" in out


SMALL_RUN = "run --d 32 --alpha 16 --n-test 1000 --width 16 --seed 1".split()


def test_refine_adds_the_refined_network_to_the_report(capsys):
    assert main([*SMALL_RUN, "--no-baseline", "--refine", "lbfgs", "--refine-max-iter", "10"]) == 0
    out = capsys.readouterr().out
    assert "network + refine (lbfgs)" in out and "refine: all weights trained jointly" in out
    assert (
        main(
            [*SMALL_RUN, "--no-baseline", "--refine", "lbfgs", "--refine-max-iter", "10", "--json"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    refined, layerwise = report["refined"], report["network"]
    assert (refined["iterations"], refined["stop_reason"]) == (10, "max_iter")
    assert report["training"]["refine"] == "lbfgs" and "refine" in report["seconds"]
    # The layer-wise row is the network before refinement; refining lowers the test error.
    assert refined["test_error"] < layerwise["test_error"]
    assert set(refined) >= {"subspace_distance", "coverage", "seconds", "best_iteration"}


def test_reuse_samples_no_second_set(capsys):
    assert main([*SMALL_RUN, "--phase2-data", "reuse", "--no-baseline", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sizes"]["n1"] == report["sizes"]["n2"] == 16 * 32
    assert report["sizes"]["data_bytes"] == (16 * 32 + 1000) * 32 * 8
    assert report["training"]["phase2_data"] == "reuse" and "refined" not in report
    assert main([*SMALL_RUN, "--phase2-data", "reuse", "--no-baseline"]) == 0
    assert "phase 2 reuses D1: no sample splitting" in capsys.readouterr().out


def test_refine_and_reuse_argument_errors(capsys):
    for args, message in (
        (["--phase2-data", "reuse", "--alpha2", "8"], "drop --alpha2"),
        (["--refine", "lbfgs", "--stream"], "--refine trains on .* drop --stream"),
        (["--refine", "adam", "--refine-max-iter", "-1"], "max_iter must be an integer >= 0"),
        (["--refine", "adam", "--refine-tol", "-1"], "tol must be >= 0"),
        (["--refine", "lbfgs", "--data", "x.csv", "--target", "y"], "apply to sampled problems"),
    ):
        assert main([*SMALL_RUN, "--no-baseline", *args]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.startswith("mimkit run: error: ")
        assert re.search(message, err), err


def test_the_peak_memory_printed_covers_the_baselines():
    # In a fresh process: the printed peak is the process's peak to the end of the run, the
    # spectral and AMP baselines included (they come after training and raise it by ~10% here).
    import os
    import subprocess
    import sys

    script = (
        "import sys; from mimkit.cli import main; "
        "sys.exit(main(['run', '--json', '--d', '128', '--alpha', '4', '--n-test', '500', "
        "'--width', '16']))"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    report = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak resident memory
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    # Printing the JSON report after the measurement costs well under 2%.
    assert json.loads(report)["peak_memory_bytes"] >= 0.98 * usage.ru_maxrss * 1024


def test_amp_below_its_threshold_is_named_not_called_unconverged(capsys):
    """z1*z2's AMP weak-recovery threshold is 0.594 (mimkit.amp.amp_threshold): at alpha = 0.4
    the report says AMP is at chance level, and does not blame convergence."""
    assert main("run --d 64 --alpha 0.4 --link z1z2 --width 16 --n-test 500 --seed 1".split()) == 0
    out = capsys.readouterr().out
    assert "(AMP: alpha = 0.4 is below its weak-recovery threshold 0.594" in out
    assert "did not converge" not in out
