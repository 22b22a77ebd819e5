"""pytest fixture for a real 3-node Weaviate cluster of the pinned build on 127.0.0.1 (never a mock).

- ``weaviate_cluster`` (module): three nodes started together (``weaviate_local.cluster``), each
  with its own data folder and ports, every one in its own mount namespace where ``api.jina.ai`` is an
  HTTPS Jina stand-in (``testkit/namespace.py``), so the ``reranker-jinaai`` module path works on
  whichever node a client talks to. Module scoped: the tests kill and restart nodes, so no other module
  shares it. Stopped at the end of the module, also when tests fail. A cluster that cannot start is a
  failure with the launcher's message, never a skip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import NamedTuple

import pytest

from rerank_playground.errors import LauncherError
from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn
from testkit.namespace import jina_override
from weaviate_local.cluster import WeaviateCluster, start_cluster

CLUSTER_SIZE = 3
CLUSTER_STATS: dict[str, str] = {}  # shown in the terminal summary


class ClusterWithJina(NamedTuple):
    cluster: WeaviateCluster
    module_stand_in: JinaStandIn  # what the nodes' reranker-jinaai module reaches as https://api.jina.ai


@pytest.fixture(scope="module")
def weaviate_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterWithJina]:
    root = tmp_path_factory.mktemp("weaviate-cluster")
    with jina_override(TEST_JINA_KEY) as override:
        started = time.monotonic()
        try:
            cluster = start_cluster(
                CLUSTER_SIZE, root=root, env=override.env, wrapper=override.wrapper, progress=lambda _: None
            )
        except LauncherError as err:
            pytest.fail(f"Could not start the {CLUSTER_SIZE}-node test cluster: {err}", pytrace=False)
        CLUSTER_STATS["cluster"] = (
            f"{CLUSTER_SIZE} nodes healthy in {time.monotonic() - started:.1f}s; logs under {root}"
        )
        with cluster:
            yield ClusterWithJina(cluster, override.stand_in)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CLUSTER_STATS:
        terminalreporter.write_line(f"weaviate cluster: {CLUSTER_STATS['cluster']}")
