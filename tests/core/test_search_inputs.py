"""The search inputs and their round trip through a page address: what a link sets, and what it says when it
cannot set something (every value that cannot be used leaves a note saying what is used instead)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerank_playground.limits import MAX_COMPARED, MAX_K, MAX_PROPERTIES
from rerank_playground.limits import MAX_QUERY_CHARS as MAX_QUERY_PARAM_CHARS
from rerank_playground.models import CollectionInfo, Fusion, Operator, PropertyInfo, SearchMode, SearchRequest
from rerank_playground.rerankers.choice import RerankChoice, parse_choice
from rerank_playground.rerankers.model_catalog import DEFAULT_MODEL, LOCAL_MODEL, WEAVIATE_DEFAULT_MODEL
from rerank_playground.search_inputs import (
    EMBEDDERS,
    SearchInputs,
    from_query_params,
    models_param,
    search_request,
    to_query_params,
)

DEFAULT = SearchInputs()
EVERYTHING = SearchInputs(
    collection="DemoWiki",
    mode=SearchMode.HYBRID,
    query="how did writing begin",
    alpha=0.25,
    fusion=Fusion.RELATIVE_SCORE,
    k=120,
    n=7,
    prop="text",
    properties=("title", "text"),
    operator=Operator.AND,
    embedder="jina:jina-embeddings-v3",
)


def read(params: dict[str, str], base: SearchInputs = DEFAULT) -> tuple[SearchInputs, list[str]]:
    return from_query_params(params, base)


# ------------------------------------------------------------------------------------------ the dataclass


def test_defaults_are_the_apps_first_view() -> None:
    assert SearchInputs(
        collection=None, mode=SearchMode.HYBRID, query=None, alpha=0.5, fusion=Fusion.RANKED, k=50, n=10,
        prop=None, properties=None, operator=Operator.OR, embedder="local", reranker=None, model=DEFAULT_MODEL,
        models=None,
    ) == DEFAULT


def test_inputs_are_immutable_and_a_change_makes_a_new_value() -> None:
    with pytest.raises(FrozenInstanceError):
        DEFAULT.k = 5  # type: ignore[misc]
    changed = replace(DEFAULT, k=5, query="cats")
    assert (changed.k, changed.query) == (5, "cats")
    assert (DEFAULT.k, DEFAULT.query) == (50, None)


# ------------------------------------------------------------------------------------------ to the URL


def test_hybrid_writes_every_setting_it_uses() -> None:
    assert to_query_params(EVERYTHING, app_embeds_query=True) == {
        "collection": "DemoWiki", "mode": "hybrid", "query": "how did writing begin", "k": "120", "n": "7",
        "prop": "text", "alpha": "0.25", "fusion": "relative_score", "properties": "title,text", "operator": "and",
        "embedder": "jina:jina-embeddings-v3",
    }


def test_vector_mode_leaves_out_keyword_and_fusion_settings() -> None:
    params = to_query_params(replace(EVERYTHING, mode=SearchMode.VECTOR), app_embeds_query=True)
    assert set(params) == {"collection", "mode", "query", "k", "n", "prop", "embedder"}


def test_keyword_mode_leaves_out_alpha_fusion_and_the_query_vector_source() -> None:
    params = to_query_params(replace(EVERYTHING, mode=SearchMode.KEYWORD), app_embeds_query=True)
    assert set(params) == {"collection", "mode", "query", "k", "n", "prop", "properties", "operator"}


def test_the_query_vector_source_only_when_the_app_embeds_the_query() -> None:
    assert "embedder" not in to_query_params(EVERYTHING, app_embeds_query=False)


def test_query_is_trimmed_and_empty_values_are_left_out() -> None:
    params = to_query_params(SearchInputs(query="  cats  "), app_embeds_query=False)
    assert params["query"] == "cats"
    assert "collection" not in params and "prop" not in params
    assert "query" not in to_query_params(SearchInputs(query="   "), app_embeds_query=False)


def test_no_keyword_properties_means_all_of_them() -> None:
    assert to_query_params(SearchInputs(properties=()), app_embeds_query=False)["properties"] == "*"
    assert to_query_params(SearchInputs(properties=None), app_embeds_query=False)["properties"] == "*"


def test_alpha_is_written_short() -> None:
    assert to_query_params(SearchInputs(alpha=1.0), app_embeds_query=False)["alpha"] == "1"
    assert to_query_params(SearchInputs(alpha=0.05), app_embeds_query=False)["alpha"] == "0.05"


# ------------------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize("mode", list(SearchMode))
def test_round_trip_keeps_every_setting_the_mode_uses(mode: SearchMode) -> None:
    inputs = replace(EVERYTHING, mode=mode)
    back, notes = read(to_query_params(inputs, app_embeds_query=True))
    assert notes == []
    unused: dict[str, object] = {}
    if mode != SearchMode.HYBRID:
        unused.update(alpha=DEFAULT.alpha, fusion=DEFAULT.fusion)
    if mode == SearchMode.VECTOR:
        unused.update(properties=DEFAULT.properties, operator=DEFAULT.operator)
    if mode == SearchMode.KEYWORD:
        unused.update(embedder=DEFAULT.embedder)
    assert back == replace(inputs, **unused)


names = st.text(alphabet=st.characters(categories=("L", "N"), include_characters="_-"), min_size=1, max_size=30)


@given(
    collection=names,
    query=st.text(min_size=1, max_size=200).map(str.strip).filter(bool),
    alpha=st.integers(0, 100).map(lambda a: a / 100),
    fusion=st.sampled_from(list(Fusion)),
    k=st.integers(1, MAX_K),
    n=st.integers(1, MAX_K),
    prop=names,
    properties=st.lists(names, max_size=MAX_PROPERTIES).map(tuple),
    operator=st.sampled_from(list(Operator)),
    embedder=st.sampled_from(EMBEDDERS),
)
def test_round_trip_of_any_hybrid_inputs(
    collection: str, query: str, alpha: float, fusion: Fusion, k: int, n: int, prop: str,
    properties: tuple[str, ...], operator: Operator, embedder: str,
) -> None:
    inputs = SearchInputs(collection=collection, mode=SearchMode.HYBRID, query=query, alpha=alpha, fusion=fusion,
                          k=k, n=n, prop=prop, properties=properties, operator=operator, embedder=embedder)
    back, notes = read(to_query_params(inputs, app_embeds_query=True))
    assert (back, notes) == (inputs, [])


def test_reranker_model_and_compared_models_come_from_the_link() -> None:
    compared = [RerankChoice("local", LOCAL_MODEL), RerankChoice("jina", WEAVIATE_DEFAULT_MODEL)]
    back, notes = read({"reranker": "weaviate_module", "model": WEAVIATE_DEFAULT_MODEL,
                        "models": models_param(compared)})
    assert notes == []
    assert (back.reranker, back.model) == ("weaviate_module", WEAVIATE_DEFAULT_MODEL)
    assert back.models == (f"local:{LOCAL_MODEL}", f"jina:{WEAVIATE_DEFAULT_MODEL}")
    assert [parse_choice(i) for i in back.models] == compared


def test_a_link_without_parameters_changes_nothing() -> None:
    assert read({}, EVERYTHING) == (EVERYTHING, [])


def test_unknown_parameters_are_not_inputs() -> None:
    assert read({"utm_source": "mail", "page": "2"}) == (DEFAULT, [])


# ------------------------------------------------------------------------------------------ unusable values


@pytest.mark.parametrize(
    ("params", "note"),
    [
        ({"mode": "semantic"}, "The link's search mode “semantic” cannot be used here; using hybrid."),
        ({"fusion": "rrf"}, "The link's fusion “rrf” cannot be used here; using ranked."),
        ({"alpha": "lots"},
         "The link's alpha “lots” cannot be used here; alpha must be between 0 and 1, using 0.5."),
        ({"alpha": "1.5"}, "The link's alpha “1.5” cannot be used here; alpha must be between 0 and 1, using 0.5."),
        ({"k": "0"},
         "The link's Candidates K “0” cannot be used here; it must be a whole number from 1 to 1000, using 50."),
        ({"k": "ten"},
         "The link's Candidates K “ten” cannot be used here; it must be a whole number from 1 to 1000, using 50."),
        ({"n": "1001"},
         "The link's Shown N “1001” cannot be used here; it must be a whole number from 1 to 1000, using 10."),
        ({"operator": "xor"}, "The link's keyword match “xor” cannot be used here; using any word (or)."),
        ({"embedder": "openai"},
         "The link's query-vector source “openai” cannot be used here; using the local embedder."),
        ({"reranker": "cohere"}, "The link's reranker “cohere” cannot be used here; choosing one automatically."),
        ({"model": "rerank-english-v3"},
         "The link's reranker model “rerank-english-v3” cannot be used here; this app does not know it, using "
         f"{DEFAULT_MODEL}."),
        ({"models": "jina:nope"}, "The link's model to compare “jina:nope” cannot be used here; it was left out."),
    ],
)
def test_an_unusable_value_is_named_and_the_current_one_kept(params: dict[str, str], note: str) -> None:
    back, notes = read(params)
    assert notes == [note]
    assert back == DEFAULT


def test_the_note_names_the_value_in_use_not_the_default() -> None:
    base = SearchInputs(mode=SearchMode.KEYWORD, alpha=0.3, k=80, n=3, fusion=Fusion.RELATIVE_SCORE, model="m")
    _, notes = read({"mode": "x", "alpha": "2", "k": "-1", "n": "0", "fusion": "y", "model": "z"}, base)
    assert notes == [
        "The link's search mode “x” cannot be used here; using keyword.",
        "The link's fusion “y” cannot be used here; using relative_score.",
        "The link's alpha “2” cannot be used here; alpha must be between 0 and 1, using 0.3.",
        "The link's Candidates K “-1” cannot be used here; it must be a whole number from 1 to 1000, using 80.",
        "The link's Shown N “0” cannot be used here; it must be a whole number from 1 to 1000, using 3.",
        "The link's reranker model “z” cannot be used here; this app does not know it, using m.",
    ]


def test_a_note_quotes_at_most_80_characters_of_the_value() -> None:
    _, notes = read({"mode": "x" * 500})
    assert notes == [f"The link's search mode “{'x' * 80}” cannot be used here; using hybrid."]


def test_usable_values_apply_beside_unusable_ones() -> None:
    back, notes = read({"mode": "keyword", "k": "many", "n": "4", "models": "jina:nope,local:anything"})
    assert (back.mode, back.k, back.n, back.models) == (SearchMode.KEYWORD, 50, 4, (f"local:{LOCAL_MODEL}",))
    assert len(notes) == 2


def test_long_values_are_cut_to_their_limits() -> None:
    back, _ = read({"collection": "C" * 500, "prop": "p" * 500, "query": "q" * 10_000,
                    "properties": ",".join(f"p{i}" for i in range(200))})
    assert back.collection == "C" * 200 and back.prop == "p" * 200
    assert back.query == "q" * MAX_QUERY_PARAM_CHARS
    assert back.properties == tuple(f"p{i}" for i in range(MAX_PROPERTIES))


def test_all_properties_and_empty_names_in_the_list() -> None:
    assert read({"properties": "*"})[0].properties == ()
    assert read({"properties": "title,,text,"})[0].properties == ("title", "text")


def test_alpha_is_rounded_to_the_sliders_step() -> None:
    assert read({"alpha": "0.333333"})[0].alpha == 0.33


def test_compared_models_are_deduplicated_and_capped() -> None:
    ids = [f"jina:{m}" for m in ("jina-reranker-v3.5", "jina-reranker-v3", "jina-reranker-m0", "jina-colbert-v2",
                                 "jina-reranker-v1-tiny-en", "jina-reranker-v1-base-en")]
    back, notes = read({"models": ",".join([ids[0], ids[0], *ids])})
    assert notes == []
    assert back.models == tuple(ids[:MAX_COMPARED])


# ------------------------------------------------------------------------------------------ the search asked for


def collection(vectorizer: str | None) -> CollectionInfo:
    return CollectionInfo(
        name="DemoWiki", count=3, properties=(PropertyInfo("title", "text"), PropertyInfo("text", "text")),
        vectorizer=vectorizer, named_vectors=(), reranker_module=None, reranker_model=None,
    )


def test_hybrid_inputs_ask_for_a_hybrid_search_with_everything_set() -> None:
    request = search_request(replace(EVERYTHING, query="  how did writing begin "), collection("none"))
    assert request == SearchRequest(
        collection="DemoWiki", query="how did writing begin", mode=SearchMode.HYBRID, limit=120,
        properties=("title", "text"), text_property="text", operator=Operator.AND, alpha=0.25,
        fusion=Fusion.RELATIVE_SCORE, embedder="jina:jina-embeddings-v3",
    )


def test_settings_a_mode_does_not_use_stay_at_their_defaults() -> None:
    vector = search_request(replace(EVERYTHING, mode=SearchMode.VECTOR), collection("none"))
    assert (vector.properties, vector.alpha, vector.fusion) == ((), 0.5, Fusion.RANKED)
    keyword = search_request(replace(EVERYTHING, mode=SearchMode.KEYWORD), collection("none"))
    assert (keyword.properties, keyword.alpha, keyword.fusion) == (("title", "text"), 0.5, Fusion.RANKED)


def test_a_server_vectorizer_embeds_the_query_whatever_the_inputs_chose() -> None:
    assert search_request(EVERYTHING, collection("text2vec-jinaai")).embedder == "auto"
    assert search_request(EVERYTHING, collection(None)).embedder == "jina:jina-embeddings-v3"


def test_no_query_yet_is_an_empty_query() -> None:
    assert search_request(SearchInputs(), collection("none")).query == ""
