"""Benchmarks of mimkit against numpy (and PyTorch where installed).

Each module measures one target of the performance issue as ratios taken in one process run
(medians over repeats), prints a Markdown table and returns JSON-able rows. The scripts in
``bench/`` and ``mimkit bench`` call them. Benchmark against numpy with
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` unset in that command only (ARCHITECTURE.md);
the header line names the BLAS kernel numpy actually ran.
"""
