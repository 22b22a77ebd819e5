"""Judgments in the app (issue 13), in AppTest, against the real test Weaviate and a real SQLite store.

Grade controls on the Search tables, the Judge view driven by its keyboard buttons, per-query metrics on
Search and Compare, query sets (create, import, a bad file, export, delete, add from Search), and a store that
cannot be opened. Every test has its own store file (``private_store``, set in ``RERANK_PLAYGROUND_DB``); the
tests read it back through the store's own API, as a second process would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from rerank_playground.evaluation import io
from rerank_playground.evaluation.judgments import normalise_query
from rerank_playground.evaluation.metrics import query_metrics
from rerank_playground.evaluation.pooling import judge_queue
from rerank_playground.judging import orderings
from rerank_playground.outcomes import RerankRun
from rerank_playground.store import Store, open_store
from rerank_playground.tables import grade_badge
from tests.app.conftest import AppEnv
from tests.app.helpers import all_text, assert_healthy, frame_with, values

pytestmark = pytest.mark.weaviate

EMPTY_EDITS: dict[str, Any] = {"added_rows": [], "deleted_rows": []}


@pytest.fixture
def store(private_store: Path) -> Iterator[Store]:
    """The same store file the app uses, opened by the test (as another process would)."""
    opened = open_store(str(private_store))
    try:
        yield opened
    finally:
        opened.close()


def searched(app_env: AppEnv) -> AppTest:
    at = app_env.new_app().run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    assert not at.error
    return at


def last_run(at: AppTest, prefix: str = "search") -> RerankRun:
    return at.session_state[f"{prefix}.last"].run


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def edit_grades(at: AppTest, key: str, rows: dict[int, str]) -> AppTest:
    """What a person does in the table: pick a badge in the grade column of some rows."""
    at.session_state[key] = {"edited_rows": {row: {"grade": badge} for row, badge in rows.items()}, **EMPTY_EDITS}
    return at.run()


# ----------------------------------------------------------------------------------------- grade tables


def test_grades_in_the_tables_are_saved_at_once_and_counted(app_env: AppEnv, store: Store) -> None:
    at = searched(app_env)
    run = last_run(at)
    request = run.search.request
    query = normalise_query(request.query)
    before = frame_with(at, "now at", "grade")
    after = frame_with(at, "was", "grade")
    assert list(before.columns) == ["rank", "grade", "move", "now at", "text", "retrieval score"]
    assert set(before["grade"]) == set(after["grade"]) == {"○ unjudged"}  # unjudged shown as unjudged
    assert "No grades for this query yet" in all_text(at)
    # The headline nDCG card is there before the first grade (so that grade moves nothing), with a dash.
    assert {label: v for label, v in metric_values(at).items() if label.startswith("nDCG@")} == {
        "nDCG@10 · reranked": "—"}
    assert len(at.data_editor) == 2

    retrieval = [hit.uuid for hit in run.search.hits]
    edit_grades(at, "search.grades.before.0", {0: grade_badge(3), 2: grade_badge(0)})
    assert_healthy(at)
    assert store.grades(request.collection, query) == {retrieval[0]: 3, retrieval[2]: 0}
    # The metrics of that same run already count the grades.
    ranked = orderings(run.search.hits, {run.choice.label: run.result})
    expected = query_metrics({retrieval[0]: 3, retrieval[2]: 0}, ranked["retrieval"], 10)
    shown = metric_values(at)
    assert shown["nDCG@10 · retrieval order (hybrid search)"] == f"{expected.ndcg:.3f}"
    assert f"nDCG@10 · {run.choice.label}" in shown
    reranked = query_metrics({retrieval[0]: 3, retrieval[2]: 0}, ranked[run.choice.label], 10)
    assert shown["nDCG@10 · reranked"] == f"{reranked.ndcg:.3f}"
    headline = next(m for m in at.metric if m.label == "nDCG@10 · reranked")
    assert headline.delta == f"{reranked.ndcg - expected.ndcg:+.3f} from {expected.ndcg:.3f} (retrieval)"
    assert "judged@10 = 2/10" in values(at.caption)
    # A fresh editor shows the store's grades as badges.
    before = frame_with(at, "now at", "grade")
    assert list(before["grade"][:3]) == ["◆ 3 perfect", "○ unjudged", "— 0 not relevant"]
    at.segmented_control(key="search.chart").set_value("slope").run()  # the slope chart marks documents by grade
    slope = json.loads(at.get("plotly_chart")[0].proto.spec)
    grade_names = [t["name"] for t in slope["data"] if "grade" in (t.get("meta") or {})]
    assert "◆ 3 perfect (1)" in grade_names and "— 0 not relevant (1)" in grade_names
    assert any(n.startswith("○ unjudged") for n in grade_names)

    # Grading in the reranked table, and clearing a grade back to unjudged.
    reranked_first = ranked[run.choice.label][0]
    edit_grades(at, "search.grades.after.1", {0: grade_badge(2)})
    edit_grades(at, "search.grades.before.2", {2: grade_badge(None)})
    assert_healthy(at)
    expected_grades = {retrieval[0]: 3, retrieval[2]: 0, reranked_first: 2}
    expected_grades.pop(retrieval[2])
    assert store.grades(request.collection, query) == expected_grades
    judgment = next(j for j in store.judgments(request.collection, query) if j.doc_id == reranked_first)
    assert judgment.source == "person"


# ----------------------------------------------------------------------------------------- Judge view


def test_judge_view_walks_the_pool_with_its_keys(app_env: AppEnv, store: Store) -> None:
    at = searched(app_env)
    run = last_run(at)
    request = run.search.request
    query = normalise_query(request.query)
    ranked = orderings(run.search.hits, {run.choice.label: run.result})
    pool = judge_queue(list(ranked.values()), (), 10)
    assert 10 <= len(pool) <= 20

    at.switch_page("pages/judge.py").run()
    assert_healthy(at)
    # The keyboard path: every button has its key.
    shortcuts = {key: at.button(key=f"judge.{key}").proto.shortcut for key in
                 ("grade.0", "grade.1", "grade.2", "grade.3", "prev", "next")}
    assert shortcuts == {"grade.0": "0", "grade.1": "1", "grade.2": "2", "grade.3": "3", "prev": "left",
                         "next": "right"}  # normalised by Streamlit
    text = all_text(at)
    assert f"Judged 0 of {len(pool)}" in text
    assert "Press 0–3 to grade the document below (saved at once), ← → to step" in values(at.markdown)
    assert f"uuid {pool[0]}" in values(at.caption)  # the most disputed document first
    assert run.search.hits[[h.uuid for h in run.search.hits].index(pool[0])].text in values(at.text)

    at.button(key="judge.grade.2").click().run()  # "2": graded, and on to the next one
    assert store.grades(request.collection, query) == {pool[0]: 2}
    assert f"uuid {pool[1]}" in values(at.caption)
    assert f"Judged 1 of {len(pool)}" in all_text(at)
    # The confirmation takes the place of the hint (one line, always there: the layout does not move).
    assert f"✓ Saved: ■ 2 relevant for document 1 of {len(pool)}" in values(at.markdown)
    assert "Press 0–3 to grade the document below (saved at once), ← → to step" not in values(at.markdown)

    at.button(key="judge.prev").click().run()  # "←": back to the graded one, its grade shown
    assert f"uuid {pool[0]}" in values(at.caption)
    assert any("your grade: ■ 2 relevant" in m for m in values(at.markdown))
    at.button(key="judge.grade.3").click().run()  # regrade: moves on to the next unjudged
    assert store.grades(request.collection, query) == {pool[0]: 3}
    assert f"uuid {pool[1]}" in values(at.caption)
    at.button(key="judge.next").click().run()  # "→": skip one without grading
    assert f"uuid {pool[2]}" in values(at.caption)
    at.button(key="judge.prev").click().run()

    for _ in pool[1:]:
        at.button(key="judge.grade.1").click().run()
    assert_healthy(at)
    assert store.grades(request.collection, query) == {pool[0]: 3} | {doc: 1 for doc in pool[1:]}
    assert any(f"All {len(pool)} documents of the pool are judged" in s for s in values(at.success))

    # Back on the Search page the top 10 of both orderings are fully judged.
    at.switch_page("pages/search.py").run()
    assert_healthy(at)
    assert values(at.caption).count("judged@10 = 10/10") == 2
    shown = metric_values(at)
    grades = store.grades(request.collection, query)
    for name, label in (("retrieval", "retrieval order (hybrid search)"), (run.choice.label, run.choice.label)):
        expected = query_metrics(grades, ranked[name], 10)
        assert shown[f"nDCG@10 · {label}"] == f"{expected.ndcg:.3f}"


def test_judge_view_without_a_run_points_to_search(app_env: AppEnv) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/judge.py").run()
    assert_healthy(at)
    assert any("Nothing to judge yet" in s for s in values(at.info))


# ----------------------------------------------------------------------------------------- Compare


def test_compare_shows_metrics_badges_and_grade_markers(app_env: AppEnv, store: Store) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/compare.py").run()
    at.button(key="compare.run").click().run()
    assert_healthy(at)
    crun = at.session_state["compare.last"].run
    request = crun.search.request
    hits = crun.search.hits
    store.set_grade(request.collection, normalise_query(request.query), hits[1].uuid, 3)
    store.set_grade(request.collection, normalise_query(request.query), hits[4].uuid, 0)
    at.run()
    assert_healthy(at)
    ranked = orderings(hits, crun.results)
    shown = metric_values(at)
    for name in ranked:
        label = "retrieval order (hybrid search)" if name == "retrieval" else name
        expected = query_metrics({hits[1].uuid: 3, hits[4].uuid: 0}, ranked[name], 10)
        assert shown[f"nDCG@10 · {label}"] == f"{expected.ndcg:.3f}"
    relevance = frame_with(at, "nDCG@10", "judged@10")
    assert list(relevance["judged@10"])[0] == "2/10"
    retrieval_metrics = query_metrics({hits[1].uuid: 3, hits[4].uuid: 0}, ranked["retrieval"], 10)
    assert relevance["ordering"][0] == "retrieval order (hybrid search)"
    assert relevance["nDCG@10"][0] == f"{retrieval_metrics.ndcg:.3f}"
    assert relevance["Δ nDCG@10"][0] == "—"  # the baseline's own change: shown as a dash, never "None"/"nan"
    assert relevance["relevant"][0] == "1"
    top = frame_with(at, "rank", "retrieval")
    assert top["retrieval"][1].startswith("◆ 3 perfect · ")
    assert top["retrieval"][4].startswith("— 0 not relevant · ")
    assert top["retrieval"][0].startswith("○ unjudged · ")
    stage = json.loads(at.get("plotly_chart")[0].proto.spec)  # the first chart: the stage chart, graded labels
    labels = [a["text"] for a in stage["layout"]["annotations"] if str(a.get("name", "")).startswith("rank-label")]
    assert any(label.startswith("◆") or " ◆" in label for label in labels), labels
    at.segmented_control(key="compare.chart").set_value("bump").run()  # the bump chart, one option away
    bump = json.loads(at.get("plotly_chart")[0].proto.spec)
    grades_in_chart = {t["meta"]["grade"] for t in bump["data"] if "grade" in (t.get("meta") or {})}
    assert {3, 0} <= grades_in_chart

    # The Judge view pools the comparison's orders (the only run of this session).
    at.switch_page("pages/judge.py").run()
    assert_healthy(at)
    pool = judge_queue(list(ranked.values()), (), 10)
    assert f"Judged 2 of {len(pool)}" in all_text(at)
    first_unjudged = next(doc for doc in pool if doc not in (hits[1].uuid, hits[4].uuid))
    assert f"uuid {first_unjudged}" in values(at.caption)


def test_judge_view_chooses_between_the_search_and_the_compare_run(app_env: AppEnv, store: Store) -> None:
    at = searched(app_env)
    at.switch_page("pages/compare.py").run()
    at.button(key="compare.run").click().run()
    at.switch_page("pages/judge.py").run()
    assert_healthy(at)
    choice = at.segmented_control(key="judge.run")
    assert choice.options == ["Search page", "Compare page"] and choice.value == "search"
    choice.set_value("compare").run()
    assert_healthy(at)
    crun = at.session_state["compare.last"].run
    pool = judge_queue(list(orderings(crun.search.hits, crun.results).values()), (), 10)
    assert f"uuid {pool[0]}" in values(at.caption)
    at.button(key="judge.grade.3").click().run()
    assert store.grades(crun.search.request.collection, normalise_query(crun.search.request.query)) == {pool[0]: 3}


# ----------------------------------------------------------------------------------------- query sets


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What each download button would hand to the browser, by file name (spied on, not changed). A deferred
    download (made only when clicked) is made here as it is registered, as a click would make it."""
    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id
    original_deferred = MediaFileManager.add_deferred

    def spy(self: Any, path_or_data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        if isinstance(path_or_data, bytes) and filename:
            stored[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    def spy_deferred(self: Any, data_callable: Any, mimetype: str | None, coordinates: str,
                     file_name: str | None = None, **kwargs: Any) -> str:
        if file_name:
            made = data_callable()
            stored[file_name] = made.encode() if isinstance(made, str) else made
        return original_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy_deferred)
    return stored


GOOD_CSV = (
    "query_id,query,doc_id,grade\n"
    "q1,how did writing begin,11111111-1111-1111-1111-111111111111,3\n"
    "q1,how did writing begin,22222222-2222-2222-2222-222222222222,0\n"
    "q2,why did the dinosaurs disappear,33333333-3333-3333-3333-333333333333,2\n"
)
BAD_CSV = (
    "query_id,query,doc_id,grade\n"
    "q1,how did writing begin,11111111-1111-1111-1111-111111111111,3\n"
    "q1,how did writing begin,22222222-2222-2222-2222-222222222222,7\n"
)


def import_file(at: AppTest, name: str, data: bytes, set_name: str) -> AppTest:
    at.file_uploader(key="sets.file").set_value((name, data, "text/csv"))
    at.text_input(key="sets.import_name").set_value(set_name)
    return at.button(key="sets.import").click().run()


def test_query_sets_import_export_bad_file_and_delete(
    app_env: AppEnv, store: Store, downloads: dict[str, bytes]
) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/query_sets.py").run()
    assert_healthy(at)
    assert any("No query sets yet" in s for s in values(at.info))

    # A bad file: the line and the problem, and nothing imported.
    import_file(at, "bad.csv", BAD_CSV.encode(), "broken")
    assert_healthy(at)
    errors = values(at.error)
    assert any("Line 3" in e and "grade" in e and "Nothing was imported" in e for e in errors), errors
    assert store.query_sets() == []
    assert store.grades("DemoWiki", "how did writing begin") == {}

    import_file(at, "good.csv", GOOD_CSV.encode(), "writing")
    assert_healthy(at)
    assert any("Imported “writing”: 2 queries into DemoWiki" in s for s in values(at.success))
    saved = store.query_set("writing")
    assert saved.collection == "DemoWiki" and [q.text for q in saved.queries] == [
        "how did writing begin", "why did the dinosaurs disappear"]
    listing = frame_with(at, "name", "judged queries")
    assert listing.to_dict("records") == [{
        "name": "writing", "collection": "DemoWiki", "queries": 2, "judged queries": 2, "judgments": 3,
        "document ids": "Weaviate uuid",
    }]
    # Exports: what the buttons hand out is the store's set in each format.
    qrels = store.qrels(saved)
    assert downloads["writing.csv"].decode() == io.to_csv(saved, qrels)
    assert downloads["writing.json"].decode() == io.to_json(saved, qrels)
    topics, qrels_text = io.to_trec(saved, qrels)
    assert downloads["writing.topics.txt"].decode() == topics
    assert downloads["writing.qrels.txt"].decode() == qrels_text
    assert io.parse_csv(downloads["writing.csv"].decode()).qrels() == qrels  # round trip

    # A JSON file that names another collection than the one chosen: refused, nothing imported.
    at.radio(key="sets.format").set_value("json").run()
    other = json.dumps([{"collection": "DemoJeopardy", "query": "who wrote hamlet", "doc_id": "x", "grade": 2}])
    at.file_uploader(key="sets.file").set_value(("other.json", other.encode(), "application/json"))
    at.text_input(key="sets.import_name").set_value("jeopardy")
    at.button(key="sets.import").click().run()
    assert any("The file is for collection “DemoJeopardy”, not “DemoWiki”" in e for e in values(at.error))
    assert [s.name for s in store.query_sets()] == ["writing"]
    at.radio(key="sets.format").set_value("csv").run()

    # Importing the same name again needs "replace".
    import_file(at, "good.csv", GOOD_CSV.encode(), "writing")
    assert any("already exists" in e for e in values(at.error))

    # Delete asks first; "keep" keeps it, "yes" deletes the set (its grades stay with the collection).
    at.button(key="sets.delete").click().run()
    assert any("Delete the query set “writing”" in w for w in values(at.warning))
    at.button(key="sets.delete_no").click().run()
    assert [s.name for s in store.query_sets()] == ["writing"]
    at.button(key="sets.delete").click().run()
    at.button(key="sets.delete_yes").click().run()
    assert_healthy(at)
    assert store.query_sets() == []
    assert any("Deleted the query set “writing”" in s for s in values(at.success))
    assert store.grades("DemoWiki", "how did writing begin") != {}


def test_create_a_set_and_add_the_search_query_to_it(app_env: AppEnv, store: Store) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/query_sets.py").run()
    at.text_input(key="sets.new_name").set_value("demo questions")
    at.text_area(key="sets.new_queries").set_value("what is a vaccine\n\nwhat is a vaccine\nhow do stars form\n")
    next(b for b in at.button if b.label == "Create set").click().run()
    assert_healthy(at)
    created = store.query_set("demo questions")
    assert [(q.query_id, q.text) for q in created.queries] == [("q1", "what is a vaccine"), ("q2", "how do stars form")]

    at.switch_page("pages/search.py").run()
    at.button(key="search.run").click().run()
    query = last_run(at).search.request.query
    at.selectbox(key="search.add_set").set_value("demo questions")
    at.button(key="search.add_set_go").click().run()
    assert_healthy(at)
    assert any("Added to “demo questions” as query q3" in s for s in values(at.success))
    assert [q.text for q in store.query_set("demo questions").queries][-1] == query.strip()


# ----------------------------------------------------------------------------------------- store unavailable


def test_a_store_that_cannot_open_leaves_the_app_working(
    app_env: AppEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder would be")
    monkeypatch.setenv("RERANK_PLAYGROUND_DB", str(blocker / "store.sqlite3"))
    at = searched(app_env)
    notes = values(at.info)
    assert any("Grades and relevance metrics are unavailable right now" in n for n in notes), notes
    assert any("Searching and reranking work as usual" in n for n in notes)
    frame_with(at, "now at", "text")  # the results are there, without a grade column
    assert not at.data_editor
    assert len(at.get("plotly_chart")) == 1
    at.switch_page("pages/judge.py").run()
    assert_healthy(at)
    assert any("Judging and relevance metrics are unavailable" in n for n in values(at.info))
    at.switch_page("pages/query_sets.py").run()
    assert_healthy(at)
    assert any("Query sets are unavailable" in n for n in values(at.info))


def test_query_sets_trec_import_names_the_bad_line_then_imports(app_env: AppEnv, store: Store) -> None:
    at = app_env.new_app().run()
    at.switch_page("pages/query_sets.py").run()
    at.radio(key="sets.format").set_value("trec").run()
    topics = b"401\thow did writing begin\n402\twhy did the dinosaurs disappear\n"
    bad_qrels = b"401 0 11111111-1111-1111-1111-111111111111 2\n402 0 33333333-3333-3333-3333-333333333333\n"
    at.file_uploader(key="sets.topics").set_value(("topics.tsv", topics, "text/plain"))
    at.file_uploader(key="sets.qrels").set_value(("qrels.txt", bad_qrels, "text/plain"))
    at.text_input(key="sets.import_name").set_value("trec set")
    at.button(key="sets.import").click().run()
    assert_healthy(at)
    assert any("Line 2" in e and "qrels" in e and "Nothing was imported" in e for e in values(at.error))
    assert store.query_sets() == []

    good_qrels = b"401 0 11111111-1111-1111-1111-111111111111 2\n402 0 33333333-3333-3333-3333-333333333333 0\n"
    at.file_uploader(key="sets.qrels").set_value(("qrels.txt", good_qrels, "text/plain"))
    at.button(key="sets.import").click().run()
    assert_healthy(at)
    saved = store.query_set("trec set")
    assert [(q.query_id, q.text) for q in saved.queries] == [
        ("401", "how did writing begin"), ("402", "why did the dinosaurs disappear")]
    assert store.qrels(saved) == {"401": {"11111111-1111-1111-1111-111111111111": 2},
                                  "402": {"33333333-3333-3333-3333-333333333333": 0}}


def test_one_click_grades_the_document_being_read_without_asking_again(with_jina_key: AppEnv, store: Store) -> None:
    """The grade buttons under the reader (keys 0-3): one click per grade, counted at once in the headline,
    and neither Weaviate nor Jina is asked again (the run on screen is the same record, the stand-in saw one
    rerank)."""
    at = with_jina_key.new_app().run()
    at.button(key="search.run").click().run()
    assert_healthy(at)
    record = at.session_state["search.last"]
    run = record.run
    request = run.search.request
    assert len(with_jina_key.jina.rerank_requests()) == 1
    assert metric_values(at)["nDCG@10 · reranked"] == "—"
    reader_top = sorted(run.movement.moves, key=lambda m: m.new_rank)
    at.selectbox(key="search.doc").set_value(2).run()  # the reranked #3
    at.button(key="search.grade_key.3").click().run()
    assert_healthy(at)
    assert store.grades(request.collection, normalise_query(request.query)) == {reader_top[2].uuid: 3}
    assert at.session_state["search.last"] is record  # the same run: nothing was searched again
    assert len(with_jina_key.jina.rerank_requests()) == 1  # and nothing reranked again
    ranked = orderings(run.search.hits, {run.choice.label: run.result})
    grades = {reader_top[2].uuid: 3}
    before = query_metrics(grades, ranked["retrieval"], 10).ndcg
    after = query_metrics(grades, ranked[run.choice.label], 10).ndcg
    assert metric_values(at)["nDCG@10 · reranked"] == f"{after:.3f}"
    headline = next(m for m in at.metric if m.label == "nDCG@10 · reranked")
    assert headline.delta == f"{after - before:+.3f} from {before:.3f} (retrieval)"
    # The tables show the store's grade for that document.
    table = frame_with(at, "was", "grade")
    assert list(table["grade"])[2] == grade_badge(3)
