"""The cluster launcher's pure parts: each node's cluster variables and its ports."""

from __future__ import annotations

from pathlib import Path

from weaviate_local.cluster import ClusterNode, _ephemeral_range, _pick_cluster_ports, cluster_env
from weaviate_local.server import ServerPorts


def nodes() -> list[ClusterNode]:
    return [
        ClusterNode(f"node{i}", ServerPorts(http=8080 + i, grpc=50050 + i, gossip=7100 + 10 * i, raft=8300 + 10 * i),
                    Path(f"/d/node{i}/data"), Path(f"/d/node{i}/weaviate.log"))
        for i in (1, 2, 3)
    ]


def test_every_node_joins_the_others_and_knows_every_raft_voter() -> None:
    env = cluster_env(nodes(), 1)  # node2
    assert env == {
        "CLUSTER_HOSTNAME": "node2",
        "CLUSTER_IN_LOCALHOST": "true",
        "CLUSTER_GOSSIP_BIND_PORT": "7120",
        "CLUSTER_DATA_BIND_PORT": "7121",  # gossip + 1
        "CLUSTER_JOIN": "127.0.0.1:7110,127.0.0.1:7130",  # the others' gossip ports, not its own
        "RAFT_PORT": "8320",
        "RAFT_INTERNAL_RPC_PORT": "8321",  # raft + 1: what CLUSTER_IN_LOCALHOST dials
        "RAFT_JOIN": "node1:8310,node2:8320,node3:8330",
        "RAFT_BOOTSTRAP_EXPECT": "3",
    }
    assert cluster_env(nodes(), 0)["CLUSTER_JOIN"] == "127.0.0.1:7120,127.0.0.1:7130"  # node1 can rejoin too


def test_ports_are_distinct_and_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()
    picked = _pick_cluster_ports(3)
    used = [port for ports in picked for port in ports.all()]
    assert len(used) == len(set(used)) == 18
    assert all(not low <= port <= high for port in used)
