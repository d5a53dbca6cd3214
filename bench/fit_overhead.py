"""Benchmark 'fit-overhead' (see bench/README.md).
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python bench/fit_overhead.py [--quick] [--out bench/results]
"""

from mimkit.benchmarks.suite import main

if __name__ == "__main__":
    main(default_names=["fit-overhead"])
