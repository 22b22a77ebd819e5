"""A story view keeps a chosen cut: in files and the store's JSON, and files written before the field still read."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from rerank_playground.errors import BadImportFile
from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.presentation import stories
from rerank_playground.presentation.stories import Story
from tests.core.test_evaluation_stories import view


@pytest.mark.parametrize("cut", [Cut("threshold", 0.72), Cut("top_k", 5), Cut("relative", 0.35)])
def test_a_view_with_a_cut_round_trips(cut: Cut) -> None:
    story = Story("Cut", (replace(view(), cut=cut), view("vaccines")))
    text = stories.story_to_json(story)
    again = stories.story_from_json(text)
    assert again == story and again.views[0].cut == cut and again.views[1].cut is None
    assert json.loads(text)["views"][0]["cut"] == {"kind": cut.kind, "value": cut.value}
    assert "cut" not in json.loads(text)["views"][1]  # a view without a cut is written as before


def test_a_file_from_before_the_cut_reads_with_no_cut() -> None:
    payload = json.loads(stories.story_to_json(Story("Old", (view(),))))
    assert "cut" not in payload["views"][0]
    assert stories.story_from_json(json.dumps(payload)).views[0].cut is None


@pytest.mark.parametrize(("cut", "words"), [
    ({"kind": "sideways", "value": 1}, "Unknown cut 'sideways'"),
    ({"kind": "top_k", "value": 0}, "k must be a whole number"),
    ({"kind": "threshold"}, "must be a number"),
    ("top 5", "A cut is"),
])
def test_a_bad_cut_is_named(cut: object, words: str) -> None:
    payload = json.loads(stories.story_to_json(Story("S", (view(),))))
    payload["views"][0]["cut"] = cut
    with pytest.raises(BadImportFile) as err:
        stories.story_from_json(json.dumps(payload, indent=2))
    assert '"cut"' in err.value.problem and words in err.value.problem
