"""Benchmark 'latency' (see bench/README.md): the wall time of the commands users wait for
(import, --help, mimkit run cold / warm theory cache, a sweep and its rerun, mimkit plot,
mimkit theory per library link with r <= 3, AMPEstimator at d = 1000, mimkit run --d 4096),
each next to the learning time it contains. Full size takes a few minutes (the d = 4096 run
most of them); --quick skips it and times the theory of z1z2 only:

    python bench/latency.py [--quick] [--out bench/results]
"""

from mimkit.benchmarks.suite import main

if __name__ == "__main__":
    main(default_names=["latency"])
