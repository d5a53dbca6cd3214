"""Benchmark 'stream' (see bench/README.md): generator throughput and the streamed phase-1 step.

python bench/stream.py [--quick] [--out bench/results]
"""

from mimkit.benchmarks.suite import main

if __name__ == "__main__":
    main(default_names=["stream"])
