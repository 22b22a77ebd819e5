"""Run the pinned ``weaviate-server`` locally: one server (:mod:`weaviate_local.server`) or a loopback
cluster (:mod:`weaviate_local.cluster`), for ``make demo``, the tests and the benchmarks.

Tooling beside the product, not part of it: it depends on the core (its errors and the per-install key's
location, :mod:`rerank_playground.local_weaviate`), and the app never imports it.
Command lines: ``weaviate-local`` (:mod:`weaviate_local.cli`, also ``python -m weaviate_local``) and
``weaviate-local-cluster`` (:mod:`weaviate_local.cluster_cli`).
"""
