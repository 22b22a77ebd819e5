"""Bad input never loses data and never crashes: odd queries, odd documents and out-of-range settings go
through ``Playground`` against the real server and the Jina stand-in.

- Untrusted text (HTML, ``<script>``, markdown, emoji, right-to-left, CJK, control and combining characters)
  comes back byte-identical through search, both rerank paths and the exports.
- Queries in any script reach Weaviate and Jina unchanged (only surrounding whitespace is trimmed).
- Empty, oversized and out-of-range input is refused with ``InvalidInput`` before any call is made.
- A rerank property that is a number, an array or missing on some objects: the Jina path sends the text the
  user sees; the server-side module sends non-strings as empty text, and the result's notes say so.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import weaviate
import weaviate.classes.config as wc

from rerank_playground import tables
from rerank_playground.connection import ConnectionSpec
from rerank_playground.errors import CollectionNotFound, InvalidInput, PlaygroundError
from rerank_playground.keys import ProviderKeys
from rerank_playground.limits import MAX_K as MAX_CANDIDATES
from rerank_playground.limits import MAX_QUERY_CHARS
from rerank_playground.models import SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.choice import RerankChoice
from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn, stand_in_score
from testkit.weaviate_data import Doc, create_collection, unique_collection_name
from weaviate_local.server import WeaviateEndpoint

V3 = "jina-reranker-v3"
TINY = "jina-reranker-v1-tiny-en"
JINA = RerankChoice("jina", V3)
LOCAL = RerankChoice("local", "local-wordllama")

# label -> (body, n, tags or None, note or None). Every body but "empty" contains the word "cat".
DOCS: dict[str, tuple[str, int, list[str] | None, str | None]] = {
    "html": ('<b>bold</b> cat <a href="javascript:alert(1)">click</a> &amp; &lt;tag&gt; <!-- c -->', 1,
             ["<i>x</i>", "y"], "cat note"),
    "script": ('<script>alert("cat")</script><img src=x onerror=alert(1)> cat </textarea>', 2, ["cat"], None),
    "markdown": ("**cat** _italic_ [link](http://example.com) `code`\n# Heading\n- item\n| a | b |\n---", 3, None,
                 None),
    "emoji": ("cat 🐱🐈\u200d⬛ family 👨\u200d👩\u200d👧 flag 🇺🇦 skin 👍🏽", 4, ["🐱"], "🐱 note"),
    "rtl": ("قطة cat تجلس على النافذة \u202eevil\u202c שלום חתול", 5, ["قطة"], None),
    "cjk": ("猫 cat 日本語のテキスト 中文文本 한국어 고양이", 6, ["猫", "ねこ"], None),
    "whitespace": ("  cat\ttab\nnew line\r\n  double  space  ", 7, [], None),
    "combining": ("cafe\u0301 cat c\u0337\u031ba\u0334t\u0338 \u200bzero width\ufeff", 8, None, None),
    "formula": ('=HYPERLINK("http://evil.example","cat")', 9, ["=1+1"], None),
    "long": ("cat " + "lorem ipsum dolor sit amet " * 400, 10, None, None),
    "empty": ("", 11, None, None),
}
UUIDS = {label: str(uuid.uuid5(uuid.NAMESPACE_URL, f"bad-input/{label}")) for label in DOCS}
LABEL_OF = {u: label for label, u in UUIDS.items()}
CAT_DOCS = len(DOCS) - 1


def bad_input_collection(client: weaviate.WeaviateClient, prefix: str, reranker: bool) -> str:
    objects = [Doc(body, {"n": n, "tags": tags, "note": note}, UUIDS[label])
               for label, (body, n, tags, note) in DOCS.items()]
    properties = {"n": wc.DataType.INT, "tags": wc.DataType.TEXT_ARRAY, "note": wc.DataType.TEXT}
    return create_collection(client, unique_collection_name(prefix), objects, properties=properties,
                             reranker_model=TINY if reranker else None)


@pytest.fixture(scope="module")
def collection(weaviate_server: WeaviateEndpoint) -> Iterator[str]:
    client = weaviate.connect_to_local(host=weaviate_server.host, port=weaviate_server.http_port,
                                       grpc_port=weaviate_server.grpc_port, skip_init_checks=True,
                                       auth_credentials=weaviate.auth.AuthApiKey(weaviate_server.api_key))
    try:
        name = bad_input_collection(client, "BadInput", reranker=False)
        yield name
        client.collections.delete(name)
    finally:
        client.close()


@pytest.fixture(scope="module")
def one_session(weaviate_server: WeaviateEndpoint, jina_server: JinaStandIn) -> Iterator[Playground]:
    session = Playground(ConnectionSpec(http_host=weaviate_server.host, http_port=weaviate_server.http_port,
                                        grpc_port=weaviate_server.grpc_port,
                                        weaviate_api_key=weaviate_server.api_key),
                         keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY), jina_base_url=jina_server.url)
    session.connect()
    yield session
    session.close()


@pytest.fixture
def pg(one_session: Playground, jina_stand_in: JinaStandIn) -> Playground:
    """One user's session for the whole module (connecting per test costs more than the tests), with its
    rerank cache emptied so every test's Jina calls are its own."""
    one_session.cache.clear()
    return one_session


def keyword(collection: str, query: str, **kw: Any) -> SearchRequest:
    kw.setdefault("text_property", "body")
    return SearchRequest(collection, query, mode=SearchMode.KEYWORD, **kw)


def expected_order(query: str, texts: list[str], model: str) -> tuple[int, ...]:
    return tuple(sorted(range(len(texts)), key=lambda i: (-stand_in_score(query, texts[i], model), i)))


# -- untrusted text ---------------------------------------------------------------------------------------


def test_untrusted_text_comes_back_byte_identical_through_search_rerank_and_exports(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn
) -> None:
    for mode in (SearchMode.KEYWORD, SearchMode.HYBRID):
        search = pg.search(replace(keyword(collection, "cat"), mode=mode, embedder="local", limit=50))
        found = {LABEL_OF[h.uuid]: h for h in search.hits}
        assert set(DOCS) - {"empty"} <= set(found), mode
        for label, hit in found.items():
            assert hit.text == DOCS[label][0], label
            assert hit.properties["body"] == DOCS[label][0]
            assert (hit.properties.get("tags") or []) == (DOCS[label][2] or [])

        jina_stand_in.reset()
        run = pg.rerank(search, JINA, 10)
        (sent,) = jina_stand_in.rerank_requests()
        assert sent.json["query"] == "cat"
        assert sent.json["documents"] == [h.text[:4096] for h in search.hits]  # only the one long text is cut
        assert run.result.truncated == 1 and "cut to their first 4,096" in run.result.notes[0]
        assert run.result.order == expected_order("cat", [h.text[:4096] for h in search.hits], V3)
        for move in run.movement.moves:
            assert move.text == DOCS[LABEL_OF[move.uuid]][0]

        # the downloads keep the text exactly (JSON), or exactly plus the formula guard (CSV)
        exported = json.loads(tables.to_json_bytes(run))
        assert [m["text"] for m in exported["movement"]["moves"]] == [m.text for m in run.movement.moves]
        assert [h["text"] for h in exported["search"]["hits"]] == [h.text for h in search.hits]
        csv = tables.to_csv_bytes(tables.movement_table(run.movement, None)).decode("utf-8")
        assert "'=HYPERLINK(" in csv and "<script>alert(\"\"cat\"\")</script>" in csv

        local = pg.rerank(search, LOCAL, 10)
        assert sorted(local.result.order) == list(range(len(search.hits)))
        both = pg.compare(search, [JINA, RerankChoice("jina", TINY), LOCAL])
        assert not both.errors and both.results[JINA.label].order == run.result.order


ODD_QUERIES = [
    pytest.param("قطة", "rtl", id="arabic"),
    pytest.param("חתול", "rtl", id="hebrew"),
    pytest.param("猫", "cjk", id="cjk"),
    pytest.param("고양이", "cjk", id="korean"),
    pytest.param("🐱", None, id="emoji-only"),
    pytest.param("cat 🐱 猫 قطة", "cjk", id="mixed-scripts"),
    pytest.param("cafe\u0301", "combining", id="combining"),
    pytest.param("<script>alert(1)</script>", "script", id="script-tag"),
    pytest.param("**bold** [x](y) `code`", "markdown", id="markdown"),
    pytest.param("\u200b", None, id="zero-width-only"),
    pytest.param("cat\x00dog", None, id="nul"),
    pytest.param("\u202eevil", "rtl", id="bidi-override"),
    pytest.param("  padded  cat \n", "html", id="padded"),
    pytest.param("cat " * (MAX_QUERY_CHARS // 4), "html", id="at-the-limit"),
]


@pytest.mark.parametrize(("query", "should_find"), ODD_QUERIES)
@pytest.mark.parametrize("mode", [SearchMode.KEYWORD, SearchMode.HYBRID])
def test_a_query_in_any_script_reaches_weaviate_and_jina_unchanged(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn, query: str, should_find: str | None,
    mode: SearchMode,
) -> None:
    request = replace(keyword(collection, query), mode=mode, embedder="local")
    try:
        search = pg.search(request)
    except PlaygroundError as err:  # allowed: a clear, typed refusal
        assert should_find is None, f"{type(err).__name__}: {err}"
        assert "Traceback" not in str(err)
        return
    assert search.request.query == query.strip()
    labels = {LABEL_OF[h.uuid] for h in search.hits}
    if should_find is not None:
        assert should_find in labels or mode == SearchMode.HYBRID and labels
    if not search.hits:
        with pytest.raises(InvalidInput, match="found nothing to rerank"):
            pg.rerank(search, JINA, 5)
        return
    run = pg.rerank(search, JINA, 5)
    assert jina_stand_in.rerank_requests()[-1].json["query"] == query.strip()
    assert run.result.order == expected_order(query.strip(), [h.text[:4096] for h in search.hits], V3)


@pytest.mark.parametrize(
    "query", ["", "   ", "\n\t", "\u3000", "x" * (MAX_QUERY_CHARS + 1), "cat " * 2_500], ids=[
        "empty", "spaces", "newline-tab", "ideographic-space", "one-over", "10000-chars"]
)
def test_empty_and_oversized_queries_are_refused_before_any_call(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn, query: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        pg.search(keyword(collection, query))
    message = str(refused.value)
    assert "Type a query first" in message or f"the limit is {MAX_QUERY_CHARS:,}" in message, message
    if query.strip():
        assert f"{len(query.strip()):,} characters long" in message and "Shorten it" in message
    assert jina_stand_in.requests == []
    assert pg.search(keyword(collection, "cat")).hits  # the session goes on


# -- settings out of range ----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -1, MAX_CANDIDATES + 1, 10**9, True, 2.5])
def test_candidates_k_out_of_range_is_refused(pg: Playground, collection: str, limit: Any) -> None:
    with pytest.raises(InvalidInput, match=f"Candidates K must be between 1 and {MAX_CANDIDATES}"):
        pg.search(keyword(collection, "cat", limit=limit))


@pytest.mark.parametrize("limit", [1, MAX_CANDIDATES])
def test_candidates_k_at_the_edges_works(pg: Playground, collection: str, limit: int) -> None:
    assert len(pg.search(keyword(collection, "cat", limit=limit)).hits) == min(limit, CAT_DOCS)


@pytest.mark.parametrize("alpha", [-0.01, 1.01, -math.inf, math.inf, math.nan, 7])
def test_alpha_outside_zero_to_one_is_refused(pg: Playground, collection: str, alpha: float) -> None:
    request = replace(keyword(collection, "cat"), mode=SearchMode.HYBRID, alpha=alpha, embedder="local")
    with pytest.raises(InvalidInput, match=r"Alpha must be between 0 \(keyword only\) and 1 \(vector only\)"):
        pg.search(request)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_alpha_at_the_edges_works(pg: Playground, collection: str, alpha: float) -> None:
    request = replace(keyword(collection, "cat"), mode=SearchMode.HYBRID, alpha=alpha, embedder="local")
    assert pg.search(request).hits


def test_a_collection_that_does_not_exist(pg: Playground) -> None:
    for name in ("NoSuchCollection_" + uuid.uuid4().hex[:8], "nosuchcollection" + uuid.uuid4().hex[:8]):
        with pytest.raises(CollectionNotFound, match="does not exist on this server"):
            pg.search(keyword(name, "cat"))
    with pytest.raises(InvalidInput, match="Choose a collection"):
        pg.search(keyword("", "cat"))


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"properties": ("nope",)}, r"has no property 'nope'.*Known properties: body, n, note, tags"),
        ({"properties": ("body", "nope", "also_not")}, r"has no property 'nope', 'also_not'"),
        ({"text_property": "missing"}, r"has no property 'missing'"),
        ({"properties": ("n",)}, r"Keyword search reads text properties only; n is not text"),
    ],
)
def test_a_property_that_does_not_exist_or_is_not_text_is_refused(
    pg: Playground, collection: str, changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        pg.search(keyword(collection, "cat", **changes))


def test_rerank_settings_out_of_range_are_refused(pg: Playground, collection: str, jina_stand_in: JinaStandIn) -> None:
    search = pg.search(keyword(collection, "cat"))
    for top_n in (0, -5):
        with pytest.raises(InvalidInput, match="Shown N must be at least 1"):
            pg.rerank(search, JINA, top_n)
    assert pg.rerank(search, LOCAL, 10**6).top_n == 10**6  # more than there are: all are shown
    with pytest.raises(InvalidInput, match="Unknown reranker 'nope'.*Known rerankers: jina"):
        pg.rerank(search, RerankChoice("nope", V3), 5)
    with pytest.raises(InvalidInput, match="Unknown reranker model 'jina-reranker-v9'.*Known models"):
        pg.rerank(search, RerankChoice("jina", "jina-reranker-v9"), 5)
    with pytest.raises(InvalidInput, match="only runs 'local-wordllama'"):
        pg.rerank(search, RerankChoice("local", V3), 5)
    six = [RerankChoice("jina", m) for m in (V3, TINY, "jina-reranker-v1-base-en", "jina-colbert-v2",
                                              "jina-reranker-v1-turbo-en")] + [LOCAL]
    for choices in ([], six):
        with pytest.raises(InvalidInput, match="between one and 5 models"):
            pg.compare(search, choices)
    assert list(pg.compare(search, [LOCAL, LOCAL]).results) == [LOCAL.label]  # the same model twice is one
    partial = pg.compare(search, [RerankChoice("jina", "jina-reranker-v9"), LOCAL])
    assert "Unknown reranker model" in str(partial.errors[RerankChoice("jina", "jina-reranker-v9").label])
    assert LOCAL.label in partial.results
    assert jina_stand_in.requests == []  # nothing above reached Jina


# -- a rerank property that is not plain text -------------------------------------------------------------

ODD_PROPERTIES = {
    # property -> the text each object contributes, as the user sees it and the Jina path sends it
    "n": {label: str(doc[1]) for label, doc in DOCS.items()},
    "tags": {label: "; ".join(doc[2] or []) for label, doc in DOCS.items()},
    "note": {label: doc[3] or "" for label, doc in DOCS.items()},
}


@pytest.mark.parametrize("prop", list(ODD_PROPERTIES))
def test_the_jina_path_reranks_a_number_array_or_sometimes_missing_property_as_shown(
    pg: Playground, collection: str, jina_stand_in: JinaStandIn, prop: str
) -> None:
    search = pg.search(keyword(collection, "cat note 🐱", text_property=prop, properties=("body", "note")))
    assert [h.text for h in search.hits] == [ODD_PROPERTIES[prop][LABEL_OF[h.uuid]] for h in search.hits]
    run = pg.rerank(search, JINA, 5)
    assert jina_stand_in.rerank_requests()[-1].json["documents"] == [h.text for h in search.hits]
    assert run.result.order == expected_order("cat note 🐱", [h.text for h in search.hits], V3)
    assert sorted(pg.rerank(search, LOCAL, 5).result.order) == list(range(len(search.hits)))


@pytest.fixture(scope="module")
def module_session(weaviate_with_jina_module: Any) -> Iterator[tuple[Playground, str]]:
    endpoint = weaviate_with_jina_module.endpoint
    session = Playground(ConnectionSpec(http_host=endpoint.host, http_port=endpoint.http_port,
                                        grpc_port=endpoint.grpc_port,
                                        weaviate_api_key=endpoint.api_key),
                         keys=ProviderKeys.of(JINAAI_APIKEY=TEST_JINA_KEY))
    session.connect()
    name = bad_input_collection(session.client, "BadInputModule", reranker=True)
    yield session, name
    session.client.collections.delete(name)
    session.close()


@pytest.mark.namespace
@pytest.mark.parametrize(
    ("prop", "sent", "note"),
    [
        ("body", "as is", None),
        ("n", "empty", "'n' is int, not text: Weaviate sends it to Jina as empty text"),
        ("tags", "empty", "'tags' is text[], not text: Weaviate sends it to Jina as empty text"),
        ("note", "as is", "of 10 objects have no 'note' and were sent as empty text"),
    ],
)
def test_the_module_path_sends_non_strings_as_empty_text_and_says_so(
    module_session: tuple[Playground, str], server_side_jina_stand_in: JinaStandIn, prop: str, sent: str,
    note: str | None,
) -> None:
    session, name = module_session
    search = session.search(keyword(name, "cat", text_property=prop, limit=50))
    assert len(search.hits) == CAT_DOCS
    run = session.rerank(search, RerankChoice("weaviate_module", TINY), 5)
    (request,) = server_side_jina_stand_in.rerank_requests()
    assert request.json["query"] == "cat"
    texts = [h.properties.get(prop) or "" for h in search.hits]
    if sent == "empty":
        assert request.json["documents"] == [""] * CAT_DOCS
    else:  # the exact bytes, untrusted markup and all
        assert sorted(request.json["documents"]) == sorted(texts)
    joined = " ".join(run.result.notes)
    if note is None:
        assert "empty text" not in joined
    else:
        assert note in joined
    assert sorted(run.result.order) == list(range(len(search.hits)))
    scores = [doc.score for doc in run.result.ranked]
    assert scores == sorted(scores, reverse=True)
    for doc in run.result.ranked:  # scored on exactly what was sent: the text, or nothing
        scored_text = texts[doc.index] if sent == "as is" else ""
        assert doc.score == pytest.approx(stand_in_score("cat", scored_text, TINY), abs=1e-6)
