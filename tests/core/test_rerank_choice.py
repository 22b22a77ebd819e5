"""The one text form of a rerank choice (links, story files, batch plans, the CLI) and its one parser."""

from __future__ import annotations

import pytest

from rerank_playground.errors import InvalidInput
from rerank_playground.rerankers.choice import RerankChoice, choice_id, parse_choice
from rerank_playground.rerankers.model_catalog import DEFAULT_MODEL, LOCAL_MODEL, WEAVIATE_DEFAULT_MODEL
from rerank_playground.search_inputs import SearchInputs, from_query_params


def test_choice_ids_round_trip() -> None:
    for choice in (RerankChoice("jina", DEFAULT_MODEL), RerankChoice("weaviate_module", WEAVIATE_DEFAULT_MODEL),
                   RerankChoice("local", LOCAL_MODEL)):
        assert parse_choice(choice_id(choice)) == choice


def test_the_local_baseline_has_one_model_whatever_the_id_says() -> None:
    assert parse_choice("local:whatever") == RerankChoice("local", LOCAL_MODEL)
    assert parse_choice("local") == RerankChoice("local", LOCAL_MODEL)


def test_a_bare_model_name_goes_to_the_client_side_provider_that_runs_it() -> None:
    assert parse_choice(f"  {DEFAULT_MODEL} ") == RerankChoice("jina", DEFAULT_MODEL)


@pytest.mark.parametrize(("text", "named"), [
    ("", "''"), ("jina", "''"), ("jina:", "''"), ("cohere:rerank-v3", "cohere:rerank-v3"),
    ("jina:not-a-model", "not-a-model"), (":x", ":x"),
])
def test_unknown_choice_ids_are_refused_naming_the_text(text: str, named: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_choice(text)
    assert named in caught.value.message


def test_a_link_leaves_out_a_choice_it_cannot_read_and_says_so() -> None:
    inputs, notes = from_query_params({"models": f"jina:{DEFAULT_MODEL},jina:not-a-model"}, SearchInputs())
    assert inputs.models == (f"jina:{DEFAULT_MODEL}",)
    assert notes == ["The link's model to compare “jina:not-a-model” cannot be used here; it was left out."]
