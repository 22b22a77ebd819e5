"""Property filters: the text form (links, the CLI's --where), the dict form (stories, batch plans), the check
against a schema (property, operator, value each named when wrong) and the source Copy as code writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rerank_playground.errors import InvalidInput
from rerank_playground.filters import FilterOp, PropertyFilter, check_filters, filter_source, parse_filter
from rerank_playground.models import PropertyInfo, SearchRequest
from rerank_playground.search_inputs import SearchInputs, from_query_params, to_query_params

SCHEMA = (PropertyInfo("category", "text"), PropertyInfo("year", "int"), PropertyInfo("rating", "number"),
          PropertyInfo("tags", "text[]"), PropertyInfo("featured", "boolean"), PropertyInfo("published", "date"),
          PropertyInfo("where", "geoCoordinates"))


@pytest.mark.parametrize(("text", "expected"), [
    ("category = Science", PropertyFilter("category", FilterOp.EQUAL, "Science")),
    ("  category=Science  ", PropertyFilter("category", FilterOp.EQUAL, "Science")),
    ('category = "Natural science"', PropertyFilter("category", FilterOp.EQUAL, "Natural science")),
    ("category != Science", PropertyFilter("category", FilterOp.NOT_EQUAL, "Science")),
    ("category LIKE sci*", PropertyFilter("category", FilterOp.LIKE, "sci*")),
    ("year > 1990", PropertyFilter("year", FilterOp.GREATER, "1990")),
    ("year < 1990", PropertyFilter("year", FilterOp.LESS, "1990")),
    ("tags contains any a, b ,c", PropertyFilter("tags", FilterOp.CONTAINS_ANY, ("a", "b", "c"))),
    ("tags Contains  Any x", PropertyFilter("tags", FilterOp.CONTAINS_ANY, ("x",))),
])
def test_the_text_form_reads_every_operator(text: str, expected: PropertyFilter) -> None:
    assert parse_filter(text) == expected
    assert parse_filter(str(expected)) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("category", "Cannot read the filter"), ("= Science", "Cannot read the filter"),
    ("category ~ Science", "Cannot read the filter"), ("category =", "needs a value"),
    ("tags contains any , ,", "needs 1 to 50 values"),
])
def test_a_filter_that_cannot_be_read_says_how_to_write_one(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filter(text)
    assert says in caught.value.message


def test_the_check_types_each_value_by_its_property() -> None:
    checked = check_filters([parse_filter(t) for t in (
        "year > 1990", "rating < 2.5", "featured = TRUE", "published > 2020-06-01", "tags contains any a, b",
        "category = 42", "year contains any 1, 2",
    )], SCHEMA, "C")
    assert [f.value for f in checked] == [
        1990, 2.5, True, datetime(2020, 6, 1, tzinfo=UTC), ("a", "b"), "42", (1, 2),
    ]


@pytest.mark.parametrize(("text", "says"), [
    ("colour = red", "Collection 'C' has no property 'colour' to filter on"),
    ("where = x", "The property 'where' (geoCoordinates) cannot be filtered here"),
    ("year like 19*", "The filter on 'year' (int) cannot use 'like'"),
    ("category > a", "The filter on 'category' (text) cannot use '>'"),
    ("published contains any 2020-01-01", "cannot use 'contains any'"),
    ("year = 19.5", "needs a whole number, not '19.5'"),
    ("rating = nan", "needs a number, not 'nan'"),
    ("featured = yes", "needs true or false, not 'yes'"),
    ("published = soon", "needs a date"),
])
def test_a_filter_the_schema_cannot_take_is_refused_naming_it(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_filters([parse_filter(text)], SCHEMA, "C")
    assert says in caught.value.message


def test_an_unknown_operator_in_stored_data_is_named() -> None:
    with pytest.raises(InvalidInput, match="Unknown filter operator 'between' on 'year'"):
        PropertyFilter.from_dict({"property": "year", "operator": "between", "value": 1})


def test_filters_travel_in_the_request_dict_and_older_data_has_none() -> None:
    request = SearchRequest("C", "q", filters=(parse_filter("year > 1990"), parse_filter("tags contains any a, b")))
    data = request.to_dict()
    assert data["filters"] == [{"property": "year", "operator": ">", "value": "1990"},
                               {"property": "tags", "operator": "contains any", "value": ["a", "b"]}]
    assert SearchRequest.from_dict(data) == request
    assert "filters" not in SearchRequest("C", "q").to_dict()  # stored data without filters stays as it was
    checked = SearchRequest("C", "q", filters=check_filters(request.filters, SCHEMA, "C"))
    assert SearchRequest.from_dict(checked.to_dict()).filters[0].value == 1990  # typed values are plain JSON
    with pytest.raises(InvalidInput, match='"filters" must be a list'):
        SearchRequest.from_dict({**data, "filters": "year > 1990"})


def test_copy_as_code_writes_the_clients_filter() -> None:
    checked = check_filters([parse_filter("category = Sci'ence"), parse_filter("published > 2020-06-01")], SCHEMA,
                            "C")
    assert filter_source(checked) == (
        "Filter.all_of([Filter.by_property('category').equal(\"Sci'ence\"), Filter.by_property('published')"
        ".greater_than(datetime.datetime.fromisoformat('2020-06-01T00:00:00+00:00'))])"
    )
    assert filter_source([]) is None


def test_a_link_carries_the_filter_and_names_one_it_cannot_read() -> None:
    inputs = SearchInputs(collection="C", query="q", filters=(parse_filter("category = Science"),))
    params = to_query_params(inputs, app_embeds_query=False)
    assert params["where"] == "category = Science"
    back, notes = from_query_params(params, SearchInputs())
    assert back.filters == inputs.filters and notes == []
    back, notes = from_query_params({"where": "category ~ x\nyear > 3"}, SearchInputs())
    assert back.filters == (parse_filter("year > 3"),)
    assert notes == ["The link's filter “category ~ x” cannot be used here; it was left out."]
    assert "where" not in to_query_params(SearchInputs(collection="C"), app_embeds_query=False)


def test_a_story_view_keeps_its_filter_through_the_file_and_an_older_file_has_none() -> None:
    from rerank_playground.presentation import stories
    from rerank_playground.rerankers.choice import RerankChoice

    checked = check_filters([parse_filter("published > 2020-06-01"), parse_filter("year contains any 1, 2")],
                            SCHEMA, "C")
    view = stories.StoryView(SearchRequest("C", "q", filters=checked), (RerankChoice("local", "local-wordllama"),),
                             top_n=5)
    back = stories.story_from_json(stories.story_to_json(stories.Story("S", (view,))))
    assert check_filters(back.views[0].request.filters, SCHEMA, "C") == checked
    assert [str(f) for f in back.views[0].request.filters] == [
        "published > 2020-06-01T00:00:00+00:00", "year contains any 1, 2"]
    older = stories.view_to_dict(view)
    del older["filters"]
    assert stories.view_from_dict(older).request.filters == ()
