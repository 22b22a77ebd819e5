"""Shared fixtures. Each plugin module below is owned by one part of the suite."""

pytest_plugins = [
    "tests.fixtures_weaviate",  # a real weaviate-server for the session (started, waited on, stopped)
    "tests.fixtures_jina",  # the local Jina-compatible stand-in (testkit.jina_stand_in)
    "tests.fixtures_cluster",  # a 3-node weaviate-server cluster, one per test module that asks for it
    "tests.fixtures_postgres",  # a throwaway PostgreSQL cluster for the store tests
    "tests.fixtures_store",  # the judgments store: isolated from ~/.local/share; store_url over both engines
]

from hypothesis import HealthCheck, settings  # noqa: E402

# Speed is not behaviour (it lives in benchmarks/): on a loaded machine input generation and single examples can be
# slow, which says nothing about the code under test. Property tests that set their own health checks add too_slow.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")
