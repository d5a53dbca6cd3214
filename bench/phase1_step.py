"""Benchmark 'phase1-step' (see bench/README.md).
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python bench/phase1_step.py [--quick] [--out bench/results]
"""

from mimkit.benchmarks.suite import main

if __name__ == "__main__":
    main(default_names=["phase1-step"])
