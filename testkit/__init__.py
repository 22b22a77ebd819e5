"""Test support shared by ``tests/`` and ``benchmarks/`` (so it lives outside ``tests/``); never used by the app.

- :mod:`testkit.corpus` the one small corpus the tests search;
- :mod:`testkit.weaviate_data` a client for a test Weaviate, unique names, the typed collection factory;
- :mod:`testkit.jina_stand_in` a local, Jina-compatible HTTP(S) server (a test double for ``api.jina.ai``);
- :mod:`testkit.namespace` a Weaviate whose ``reranker-jinaai`` module reaches that stand-in as ``api.jina.ai``;
- :mod:`testkit.recording_listener` a host that records whatever a client sends it (where do keys go?);
- :mod:`testkit.postgres` a throwaway PostgreSQL cluster.

pytest fixtures built on these stay in ``tests/conftest.py``'s plugins (``tests/fixtures_*.py``).
"""
