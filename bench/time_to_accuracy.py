"""Benchmark 'time-to-accuracy' (see bench/README.md): wall time of each way of training the
two-layer network to test MSE/Var 0.5, 0.2 and 0.05, its best error within 120 s, and the
acceptance comparison with MLPRegressor(max_iter=50). About 8 minutes on 2 cores: run it on a
quiet machine, with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python bench/time_to_accuracy.py [--quick] [--out bench/results]

With --out, the plot (time-to-accuracy.png) and the tables (time-to-accuracy.md) are written
next to the JSON.
"""

import argparse
from pathlib import Path

from mimkit.benchmarks import suite, time_to_accuracy

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="d = 128, 5 s per method")
    parser.add_argument("--out", default=None, help="folder for the JSON, table and plot")
    args = parser.parse_args()
    results = suite.run(["time-to-accuracy"], args.quick, args.out)
    if args.out:
        time_to_accuracy.save(results["time-to-accuracy"], Path(args.out))
