"""Exported TREC files reproduce the tool's figures under trec_eval (pytrec_eval reading the files the CLI writes):
tied and near-tied scores (1e-7 apart), a ranking in an id property's space (passages of one article repeat its id),
and ids that would break the six-column format (spaces, tabs, %, unicode)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import ir_measures
import pytest
import pytrec_eval

from rerank_playground.cli import main
from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation import report, runs
from rerank_playground.evaluation.batch_engine import score_results
from rerank_playground.evaluation.batch_plan import BASELINE, RunPlan, plan_to_dict, search_setting
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.store import open_store

LOCAL = RerankChoice("local", "local-wordllama")
K = 10
QUERIES = (SetQuery("q1", "ants"), SetQuery("q 2", "tied scores"), SetQuery("q3", "near ties"),
           SetQuery("q4", "unicode ids"))
QRELS = {
    "q1": {"wiki:Ant": 3, "wiki:Animal": 1, "wiki:Bee": 2, "wiki:Insect": 0, "wiki:Wasp": 2, "wiki:Beetle": 3},
    "q 2": {"New York": 2, "York": 3, "100% pure": 1, "tab\there": 2, "Yorkshire": 0},
    "q3": {"a": 0, "b": 2, "c": 3, "d": 1, "e": 2},
    "q4": {"Zürich café": 3, "naïve": 2, "日本": 1, "Ωmega": 0},
}


def ranking(pairs: list[tuple[str, float | None]]) -> tuple[tuple[str, float | None], ...]:
    return tuple(pairs)


# Orderings as the engine saves them: the id property's value per hit, best first, with each hit's score.
RANKINGS = {
    BASELINE: {
        # passages of one article repeat its id (the tool counts the first); two scores tie exactly
        "q1": ranking([("wiki:Insect", 9.0), ("wiki:Ant", 8.5), ("wiki:Insect", 8.4), ("wiki:Animal", 8.0),
                       ("wiki:Bee", 8.0), ("wiki:Ant", 7.0), ("wiki:Zebra", 6.0), ("wiki:Wasp", 5.5),
                       ("wiki:Beetle", 5.0), ("wiki:Ant", 4.0), ("wiki:Cat", 3.0), ("wiki:Dog", 2.0),
                       ("wiki:Bee", 1.5), ("wiki:Owl", 1.0)]),
        # every score the same (a keyword search over equal documents): trec_eval would sort by doc id
        "q 2": ranking([("Yorkshire", 0.5), ("New York", 0.5), ("100% pure", 0.5), ("York", 0.5),
                        ("tab\there", 0.5), ("New York", 0.5)]),
        # near-ties 1e-7 apart: six decimals print them equal and trec_eval reorders them
        "q3": ranking([("a", 0.8123457), ("b", 0.8123456), ("e", 0.8123454), ("d", 0.3000001),
                       ("c", 0.3000000), ("a", 0.2)]),
        "q4": ranking([("Ωmega", 2.0), ("日本", None), ("naïve", 1.0), ("Zürich café", 0.5)]),
    },
    LOCAL.label: {
        "q1": ranking([("wiki:Zebra", 0.99999995), ("wiki:Ant", 0.99999994), ("wiki:Ant", 0.9), ("wiki:Cat", 0.8),
                       ("wiki:Beetle", 0.79999999), ("wiki:Insect", 0.7), ("wiki:Wasp", 0.6), ("wiki:Bee", 0.5),
                       ("wiki:Animal", 0.4), ("wiki:Dog", 0.3), ("wiki:Owl", 0.2)]),
        "q 2": ranking([("tab\there", 0.4000001), ("York", 0.4), ("New York", 0.4), ("100% pure", 0.1),
                        ("Yorkshire", 0.0)]),
        "q3": ranking([("d", 1e-7), ("c", 0.0), ("a", -1e-7), ("e", -2e-7), ("b", -3e-7)]),
        "q4": ranking([("Zürich café", 3.0000001), ("naïve", 3.0), ("日本", 2.9999999), ("Ωmega", 1.0)]),
    },
}

# The tool's measure -> the trec_eval measure and how trec_eval is run for it (relevance level, -M depth).
TREC_EVAL = {
    f"nDCG@{K}": (f"ndcg_cut_{K}", None, None),
    f"RR(rel=2)@{K}": ("recip_rank", 2, K),  # trec_eval -l 2 -M 10 -m recip_rank
    f"P(rel=2)@{K}": (f"P_{K}", 2, None),
    f"R(rel=2)@{K}": (f"recall_{K}", 2, None),
    "AP(rel=2)": ("map", 2, None),
}


def saved_run(db: Path) -> str:
    qs = QuerySet("ties", "Demo", QUERIES, id_property="article_id")
    plan = RunPlan(query_set=qs, settings=(search_setting(limit=20, text_property="passage"),), rerankers=(LOCAL,),
                   k=K)
    record = runs.RunRecord(run_id="f" * 32, name="ties", collection="Demo", query_set=qs.name, status="finished",
                            plan=plan_to_dict(plan), qrels=QRELS, app_version="t", server_version="t",
                            object_count=100)
    rows = [runs.QueryResult(setting=0, query_id=qid, query=qid, ordering=ordering, status="done", ranking=pairs)
            for ordering, by_query in RANKINGS.items() for qid, pairs in by_query.items()]
    rows = score_results(rows, QRELS, record.plan["measures"])  # what the engine saves: the tool's figures
    store = open_store(str(db))
    try:
        store.create_run(record)
        store.save_results(record.run_id, rows)
    finally:
        store.close()
    return record.run_id


def read_trec(path: Path) -> list[list[str]]:
    rows = [line.split(" ") for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows and all(len(row) == len(line.split()) for row, line in zip(
        rows, path.read_text(encoding="utf-8").splitlines(), strict=True))  # single spaces, no stray whitespace
    return rows


def trec_eval(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per query, the tool's measure names -> what trec_eval (pytrec_eval) computes from the files."""
    out: dict[str, dict[str, float]] = {q: {} for q in run}
    for ours, (theirs, level, depth) in TREC_EVAL.items():
        scored = run
        if depth is not None:  # trec_eval -M depth: only the top `depth` documents by score count
            scored = {q: dict(sorted(docs.items(), key=lambda d: -d[1])[:depth]) for q, docs in run.items()}
        options = {} if level is None else {"relevance_level": level}
        values = pytrec_eval.RelevanceEvaluator(qrels, {theirs}, **options).evaluate(scored)
        for q, measures in values.items():
            out[q][ours] = measures[theirs]
    judged = ir_measures.parse_measure(f"Judged@{K}")
    for metric in ir_measures.iter_calc([judged], qrels, run):
        out[metric.query_id][f"Judged@{K}"] = metric.value
    return out


def test_trec_files_reproduce_every_per_query_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite3"
    run_id = saved_run(db)
    out = tmp_path / "trec"
    assert main(["report", run_id, "--db", str(db), "--trec-dir", str(out)]) == 0
    assert "%-encoded" in capsys.readouterr().err

    qrels_rows = read_trec(out / f"{run_id[:8]}.qrels")
    assert all(len(row) == 4 for row in qrels_rows)
    qrels: dict[str, dict[str, int]] = {}
    for qid, _, doc, grade in qrels_rows:
        qrels.setdefault(qid, {})[doc] = int(grade)
    assert {unquote(q): {unquote(d): g for d, g in docs.items()} for q, docs in qrels.items()} == QRELS

    store = open_store(str(db))
    try:
        saved = store.load_results(run_id)
    finally:
        store.close()
    max_diff = 0.0
    compared = 0
    for ordering in RANKINGS:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ordering)
        lines = read_trec(out / f"{run_id[:8]}.s0.{safe}.run")
        assert all(len(row) == 6 and row[1] == "Q0" for row in lines)  # no id broke the six columns
        # trec_eval itself refuses a (query, doc) pair twice; pytrec_eval's parser asserts the same
        run = pytrec_eval.parse_run(" ".join(row) for row in lines)
        assert sum(len(docs) for docs in run.values()) == len(lines)
        for qid in run:  # strictly decreasing scores in file order: trec_eval's order is ours
            scores = [float(row[4]) for row in lines if row[0] == qid]
            assert all(a > b for a, b in zip(scores, scores[1:], strict=False)), (ordering, qid, scores)
            file_order = [unquote(row[2]) for row in lines if row[0] == qid]
            assert file_order == list(dict.fromkeys(d for d, _ in RANKINGS[ordering][unquote(qid)]))
        theirs = trec_eval(qrels, run)
        for result in (r for r in saved if r.ordering == ordering):
            figures = theirs[next(q for q in run if unquote(q) == result.query_id)]
            assert set(result.metrics) == set(figures)
            for measure, value in result.metrics.items():
                max_diff = max(max_diff, abs(value - figures[measure]))
                compared += 1
    assert compared == len(RANKINGS) * len(QUERIES) * (len(TREC_EVAL) + 1)
    assert max_diff == 0.0


@pytest.mark.parametrize(("ordering", "qid", "digits"), [(BASELINE, "q3", "{:.6f}"), (LOCAL.label, "q4", "{!r}")])
def test_the_raw_scores_would_not_have_reproduced_them(ordering: str, qid: str, digits: str) -> None:
    """Why scores are checked before they are written: at six decimals the 1e-7 near-ties of q3 print equal, and even
    at full precision trec_eval reads scores as 32-bit floats, where 3.0000001 equals 3.0 (q4); trec_eval then
    orders the tie by document id and nDCG@10 moves away from the tool's figure."""
    first = dict(reversed(RANKINGS[ordering][qid]))  # the first score of each doc id (reversed: first one wins)
    raw = {qid: {d: float(digits.format(score)) for d, score in first.items() if score is not None}}
    tool = score_results([runs.QueryResult(0, qid, "", ordering, "done", RANKINGS[ordering][qid])],
                         {qid: QRELS[qid]}, ["nDCG@10"])[0].metrics["nDCG@10"]
    evaluator = pytrec_eval.RelevanceEvaluator({qid: QRELS[qid]}, {"ndcg_cut_10"})
    assert evaluator.evaluate(raw)[qid]["ndcg_cut_10"] != tool
    written = report.trec_run([runs.QueryResult(0, qid, "", ordering, "done", RANKINGS[ordering][qid])], 0, ordering)
    ours = {qid: {unquote(line.split()[2]): float(line.split()[4]) for line in written.splitlines()}}
    assert evaluator.evaluate(ours)[qid]["ndcg_cut_10"] == tool


def test_trec_ids_are_encoded_reversibly_and_empty_ids_refused() -> None:
    for text in ("plain-id_1.2", "New York", "tab\there", "100%", "Zürich café", "line\nbreak", "日本"):
        encoded = report.trec_id(text)
        assert len(encoded.split()) == 1 and unquote(encoded) == text
    assert report.trec_id("plain-id_1.2") == "plain-id_1.2"  # ordinary ids are written as they are
    with pytest.raises(InvalidInput, match="empty"):
        report.trec_id("")
