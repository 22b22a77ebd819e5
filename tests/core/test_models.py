"""ServerInfo's node status and the note the sidebar and Connect page show when a node is down."""

from __future__ import annotations

from rerank_playground.models import NodeState, ServerInfo


def info(*nodes: tuple[str, str]) -> ServerInfo:
    return ServerInfo(url="http://127.0.0.1:8080", version="1.38.11", modules=(), collections=2,
                      jina_reranker_available=True, jina_vectorizer_available=True, label="local Weaviate",
                      nodes=tuple(NodeState(name, status) for name, status in nodes))


def test_no_note_when_every_node_serves_or_the_server_does_not_say() -> None:
    assert info().cluster_note is None and info().cluster_summary is None and info().nodes_down == ()
    assert info(("node1", "HEALTHY")).cluster_note is None
    assert info(("node1", "HEALTHY"), ("node2", "INDEXING"), ("node3", "HEALTHY")).cluster_note is None


def test_the_note_names_each_node_down_and_how_many_of_all() -> None:
    one = info(("node1", "HEALTHY"), ("node2", "HEALTHY"), ("node3", "UNAVAILABLE"))
    assert one.nodes_down == (NodeState("node3", "UNAVAILABLE"),)
    assert one.cluster_summary == "1 of 3 Weaviate nodes is down: node3 (unavailable)."
    assert one.cluster_note is not None and one.cluster_note.startswith(one.cluster_summary + " Searches keep")
    assert "the missing node fail" in one.cluster_note

    two = info(("a", "TIMEOUT"), ("b", "MISSING"), ("c", "HEALTHY"), ("d", "UNHEALTHY"))
    assert [n.name for n in two.nodes_down] == ["a", "b", "d"]
    assert two.cluster_summary == "3 of 4 Weaviate nodes are down: a (timeout), b (missing), d (unhealthy)."
    assert two.cluster_note is not None and two.cluster_note.startswith(two.cluster_summary)
    assert "the missing nodes fail" in two.cluster_note
