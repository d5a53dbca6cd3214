"""Benchmark 'amp' (see bench/README.md): one GAMP iteration at n = 16384, d = 1024 against its
two GEMMs (the ratio, target <= 3) and against the GEMMs plus its channel call measured alone,
per link. Run it with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/amp.py [--quick] [--out bench/results]
"""

from mimkit.benchmarks.suite import main

if __name__ == "__main__":
    main(default_names=["amp"])
