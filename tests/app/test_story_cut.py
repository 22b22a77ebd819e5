"""A story view keeps the page's cut (issue 23.3): "Add to story" on Search saves the cut picked there, Present
shows what it keeps of the reranked list (the same count as a direct recount of the scores), and the cut
survives the story's export and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rerank_playground.evaluation.cutoff import Cut
from rerank_playground.presentation import stories
from rerank_playground.store import open_store
from tests.app.conftest import AppEnv
from tests.app.helpers import assert_healthy, frame_with, kept_directly, values

STORY = "Cut talk"


def _saved(store_file: Path, name: str) -> stories.Story:
    with open_store(str(store_file)) as store:
        return store.load_story(name)


def _add_to_story(at: Any, prefix: str, name: str) -> None:
    at.selectbox(key=f"{prefix}.story_name").set_value("➕ New story…").run()
    at.text_input(key=f"{prefix}.story_new").set_value(name).run()
    at.button(key=f"{prefix}.story_add").click().run()
    assert_healthy(at)


def _present_kept(at: Any, story: str, view: stories.StoryView) -> tuple[list[str], list[float]]:
    """Present ``story``'s first view: the "kept" metrics and captions shown, and the reranked scores Present
    showed (from the run it prepared)."""
    at.switch_page("pages/present.py").run()
    at.selectbox(key="present.story_select").set_value(story).run()
    at.button(key="present.start").click().run()
    assert_healthy(at)
    prepared = at.session_state["present.presenter"].ready(view)
    assert prepared is not None and len(prepared.runs) == 1
    run = next(iter(prepared.runs.values()))
    scores = [d.score for d in run.result.ranked]
    shown = [str(m.value) for m in at.metric if str(m.label).startswith("kept by the cut")]
    shown += [c for c in values(at.caption) if "kept" in c]
    return shown, scores


def test_add_to_story_keeps_the_cut_and_present_keeps_what_search_kept(app_env: AppEnv, private_store: Path) -> None:
    at = app_env.new_app().run()
    at.button(key="search.run").click().run()
    scores_on_search = list(frame_with(at, "was", "rerank score")["rerank score"])
    threshold = (scores_on_search[2] + scores_on_search[3]) / 2  # between the 3rd and 4th reranked scores
    at.segmented_control(key="search.cut_kind").set_value("threshold").run()
    at.number_input(key="search.cut_threshold").set_value(threshold).run()
    assert_healthy(at)
    assert any("kept 3 of 50" in m for m in values(at.markdown))
    _add_to_story(at, "search", STORY)
    assert any("Cut kept with the view: score ≥" in c for c in values(at.caption))
    saved = _saved(private_store, STORY)
    assert len(saved.views) == 1
    view = saved.views[0]
    assert view.cut == Cut("threshold", threshold)

    shown, scores = _present_kept(at, STORY, view)
    kept = kept_directly("threshold", threshold, scores)
    assert kept == 3  # Present reranked the same candidates the same way Search did
    metric = f"kept {kept} of {len(scores)}"
    assert shown[0] == metric, shown
    assert any(f"kept {kept} of {len(scores)}, the rest greyed" in c for c in shown[1:]), shown
    # the stage chart greys the reranked labels below the cut and draws the cut under the last kept one
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["meta"]["kept"] == kept
    cut_lines = [s for s in figure["layout"]["shapes"] if s.get("name") == "cut-line"]
    assert [s["y0"] for s in cut_lines] == [kept + 0.5]
    # Copy as code (in the view's settings) cuts the same way
    at.button(key="present.settings_btn").click().run()
    code = next(c.value for c in at.code if "CUT_RULE" in c.value)
    assert f"score ≥ {threshold:.6g}" in code

    # Export, then import under another name: the imported view keeps the cut and Present keeps the same count.
    exported = json.loads(stories.story_to_json(saved))
    assert exported["views"][0]["cut"] == {"kind": "threshold", "value": threshold}
    exported["name"] = "Cut talk, imported"
    at.button(key="present.exit").click().run()
    at.file_uploader(key="present.upload").set_value(
        ("cut-talk.story.json", json.dumps(exported, indent=2).encode(), "application/json")).run()
    at.button(key="present.do_import").click().run()
    assert_healthy(at)
    imported = _saved(private_store, "Cut talk, imported")
    assert imported.views == saved.views and imported.views[0].cut == Cut("threshold", threshold)
    shown_again, scores_again = _present_kept(at, "Cut talk, imported", imported.views[0])
    assert shown_again[0] == f"kept {kept_directly('threshold', threshold, scores_again)} of {len(scores_again)}"
    assert shown_again[0] == metric


def test_no_cut_saves_a_view_without_one(app_env: AppEnv, private_store: Path) -> None:
    at = app_env.new_app().run()
    at.button(key="search.run").click().run()
    _add_to_story(at, "search", "Uncut")
    assert any("No cut: the view shows the whole reranked list." in c for c in values(at.caption))
    assert _saved(private_store, "Uncut").views[0].cut is None
    at.switch_page("pages/present.py").run()
    at.selectbox(key="present.story_select").set_value("Uncut").run()
    at.button(key="present.start").click().run()
    assert_healthy(at)
    assert not [m for m in at.metric if str(m.label).startswith("kept by the cut")]
    assert not any("kept" in c for c in values(at.caption))


def test_compare_saves_its_cut_with_the_view(app_env: AppEnv, private_store: Path) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/compare.py").run()
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    at.segmented_control(key="compare.cut_kind").set_value("top_k").run()
    at.number_input(key="compare.cut_top_k").set_value(4).run()
    _add_to_story(at, "compare", "Compare cut")
    view = _saved(private_store, "Compare cut").views[0]
    assert view.cut == Cut("top_k", 4)
