"""Every host form is parsed to one spelling or refused with a message naming it (issue 24): ``::1``, ``[::1]``,
``[127.0.0.1]``, a trailing dot, a port after a colon; locked mode checks the gRPC target a Cloud URL implies."""

from __future__ import annotations

import pytest

from rerank_playground.connection import ConnectionSpec, spec_from_url
from rerank_playground.deployment import deployment_from_settings
from rerank_playground.errors import HostNotAllowed, InvalidInput
from rerank_playground.keys import BadHost, grpc_endpoint, http_endpoint, normalise_host


@pytest.mark.parametrize(("raw", "host"), [
    ("::1", "::1"), ("[::1]", "::1"), ("0:0::1", "::1"), ("[0:0:0:0:0:0:0:1]", "::1"), ("LOCALHOST", "localhost"),
    ("localhost.", "localhost"), (" 127.0.0.1. ", "127.0.0.1"), ("weaviate.example.com", "weaviate.example.com"),
    ("node_1", "node_1"),
])
def test_host_forms_are_parsed_to_one_spelling(raw: str, host: str) -> None:
    assert normalise_host(raw) == host


@pytest.mark.parametrize(("raw", "says"), [
    ("[127.0.0.1]", "write 127.0.0.1 without them"), ("[]", "square brackets are for IPv6"),
    ("localhost:8080", "give the port in its own field"), ("a b", "not a host name"), ("", "not a host name"),
    ("http://x", "not a host"), ("x/y", "not a host name"), ("[::1", "square brackets"), ("::g", "not a host"),
])
def test_other_forms_are_refused_naming_the_text(raw: str, says: str) -> None:
    with pytest.raises(BadHost, match=says) as err:
        normalise_host(raw)
    assert f"“{raw.strip()[:80]}”" in str(err.value)


def test_specs_write_ipv6_in_brackets_and_refuse_bad_hosts_with_a_message() -> None:
    for host in ("::1", "[::1]"):
        spec = ConnectionSpec(http_host=host, http_port=9000, grpc_port=9001)
        assert spec.url == "http://[::1]:9000" and spec.grpc_target == ("[::1]", 9001)
        assert spec.endpoints == ("http://[::1]:9000", "grpc://[::1]:9001")
    assert spec_from_url("http://[::1]:8080").url == "http://[::1]:8080"
    assert ConnectionSpec(http_host="Localhost.").endpoints == ("http://localhost:8080", "grpc://localhost:50051")
    with pytest.raises(InvalidInput, match=r"write 127\.0\.0\.1 without them"):
        ConnectionSpec(http_host="[127.0.0.1]")
    with pytest.raises(InvalidInput, match="not a valid Weaviate URL"):
        spec_from_url("http://[127.0.0.1]:8080")
    with pytest.raises(InvalidInput, match="not a valid address"):
        ConnectionSpec(kind="cloud", cluster_url="https://[127.0.0.1]")
    # endpoints (what keys are bound to) never raise
    assert http_endpoint("http://[127.0.0.1]:8080") == "" and http_endpoint("::1") == ""
    assert http_endpoint("http://[::1]:8080") == "http://[::1]:8080"
    assert grpc_endpoint("[::1]", 50051) == grpc_endpoint("::1", 50051) == "grpc://[::1]:50051"


LOCKED = {"WEAVIATE_URL": "http://127.0.0.1:8080", "RERANK_PLAYGROUND_LOCKED": "1"}


def test_locked_mode_checks_the_grpc_target_a_cloud_url_implies() -> None:
    policy = deployment_from_settings({**LOCKED, "RERANK_PLAYGROUND_ALLOWED_HOSTS": "abc.weaviate.cloud"}).policy
    # A "cloud" URL at the configured REST address would dial grpc-127.0.0.1:443: refused, naming it.
    with pytest.raises(HostNotAllowed, match="grpc-127.0.0.1:443"):
        policy.check(ConnectionSpec(kind="cloud", cluster_url="http://127.0.0.1:8080"))
    policy.check(ConnectionSpec(kind="cloud", cluster_url="https://abc.weaviate.cloud"))  # grpc-abc... derived
    with pytest.raises(HostNotAllowed, match="other.weaviate.cloud"):
        policy.check(ConnectionSpec(kind="cloud", cluster_url="https://other.weaviate.cloud"))


def test_locked_mode_compares_hosts_in_one_spelling_and_names_the_refused_one() -> None:
    policy = deployment_from_settings({**LOCKED, "RERANK_PLAYGROUND_ALLOWED_HOSTS": "[::1]:9000, Weaviate.Internal."}
                                      ).policy
    policy.check(ConnectionSpec(http_host="::1", http_port=9000, grpc_port=9000))
    policy.check(ConnectionSpec(http_host="weaviate.internal.", http_port=1, grpc_port=2))
    policy.check(ConnectionSpec(http_host="127.0.0.1.", http_port=8080))  # the configured one, trailing dot
    with pytest.raises(HostNotAllowed, match=r"http://\[::1\]:8080"):
        policy.check(ConnectionSpec(http_host="[::1]", http_port=8080, grpc_port=9000))
    with pytest.raises(InvalidInput, match="RERANK_PLAYGROUND_ALLOWED_HOSTS"):
        deployment_from_settings({**LOCKED, "RERANK_PLAYGROUND_ALLOWED_HOSTS": "[127.0.0.1]"})
