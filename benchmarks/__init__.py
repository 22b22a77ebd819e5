"""Speed measurements, run from the repository root as modules: ``python -m benchmarks.pipeline``,
``python -m benchmarks.latency`` (both run by ``make bench``), ``benchmarks.load``, ``benchmarks.batch``,
``benchmarks.cluster``, ``benchmarks.store_writes``. They use the test support package ``testkit``.
"""
