"""End-to-end benchmarks against the real local broker and registry (`make bench`).

Not pytest tests (no ``test_*`` modules): ``python -m tests.bench.run [--quick]``
runs every row, prints one table and writes ``bench-results/latest.{json,md}``.
"""
