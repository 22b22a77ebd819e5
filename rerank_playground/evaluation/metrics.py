"""Relevance metrics through ir-measures (trec_eval's definitions via its pytrec_eval backend), never by hand.

Our rankings are lists, best first. trec_eval ranks by score and breaks score ties by document id, which would
silently reorder a list whose scores tie (two documents with the same retrieval score). So scores handed to the
library are derived from the rank (``n - rank``): the order evaluated is exactly the order shown.

Binary measures (P, R, RR, AP) count grade >= a stated relevance level as relevant (default 2, as trec_eval's
``-l 2``; see ``RELEVANCE_LEVEL``), and their names say it (``P(rel=2)@10``); nDCG uses the grade as the gain. Every
measure cut at k says ``@k`` (RR included: one RR everywhere, the reciprocal rank of the first relevant document in
the top k). Unjudged documents count as not relevant, which is why judged@k is always shown beside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ir_measures

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.judgments import RELEVANCE_LEVEL, QueryMetrics
from rerank_playground.models import Hit

_QUERY = "q"


def measures_for(k: int, relevance_level: int = RELEVANCE_LEVEL) -> tuple[str, ...]:
    """The measures of a run (ir-measures syntax), the binary ones at ``relevance_level``; AP alone is uncut (over
    every candidate ranked)."""
    if k < 1:
        raise InvalidInput(f"k must be at least 1 (got {k}).")
    rel = check_relevance_level(relevance_level)
    return (f"nDCG@{k}", f"RR(rel={rel})@{k}", f"P(rel={rel})@{k}", f"R(rel={rel})@{k}", f"AP(rel={rel})",
            f"Judged@{k}")


def check_relevance_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 3:
        raise InvalidInput(f"The relevance level must be 1, 2 or 3 (got {level!r}).",
                           hint="2 (the default) counts 'relevant' and 'perfect'; 1 also counts 'related'.")
    return level


def relevance_level_of(measures: Sequence[str]) -> int | None:
    """The level the binary measures of a run were computed at (runs saved before levels were named: 1)."""
    for name in measures:
        measure = ir_measures.parse_measure(name)
        if measure.NAME in {"P", "R", "RR", "AP"}:
            return int(measure.params.get("rel", 1))
    return None


def rank_scores(ranking: Sequence[str]) -> dict[str, float]:
    """doc_id -> a score reproducing the ranking exactly (distinct, descending); a duplicate keeps its first rank."""
    scores: dict[str, float] = {}
    for rank, doc_id in enumerate(ranking):
        scores.setdefault(doc_id, float(len(ranking) - rank))
    return scores


def ranking_ids(hits: Sequence[Hit], id_property: str | None = None) -> list[str]:
    """The doc ids of ``hits`` in their order, in a query set's id space: the uuid, or the value of
    ``id_property`` (e.g. the demo's ``article_id``; the search must return that property). Several hits with
    one value (passages of one article) all appear; the metrics count the first. A hit without the property
    keeps its uuid, so it matches no judgment of the set: unjudged, not wrongly relevant."""
    if not id_property:
        return [hit.uuid for hit in hits]
    return [str(hit.properties.get(id_property) or hit.uuid) for hit in hits]


def evaluate_run(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Sequence[str]], measures: Sequence[str]
) -> dict[str, dict[str, float]]:
    """query_id -> measure name -> value, for every query that has judgments (an entry in ``qrels``) and a ranking.

    ``measures`` use ir-measures names (``"nDCG@10"``, ``"RR"``, ``"P@10"``, ``"R@10"``, ``"AP"``, ``"Judged@10"``).
    ``run`` maps query id -> doc ids, best first. Queries of the run with no judgments at all are left out (as
    trec_eval does); a query with judgments but an empty ranking gets zeros.
    """
    try:
        parsed = [ir_measures.parse_measure(name) for name in measures]
    except (ValueError, NameError, SyntaxError, TypeError) as err:
        raise InvalidInput(f"Unknown measure in {list(measures)!r}: {err}") from None
    names = {measure: name for measure, name in zip(parsed, measures, strict=True)}
    qrels_dict = {qid: {doc: int(grade) for doc, grade in docs.items()} for qid, docs in qrels.items() if docs}
    run_dict = {qid: rank_scores(ranking) for qid, ranking in run.items() if qid in qrels_dict}
    result: dict[str, dict[str, float]] = {qid: {} for qid in run_dict}
    ranked = {q: r for q, r in run_dict.items() if r}
    # Only the ranked queries' judgments: some measures report every query of the qrels, ranked or not.
    for metric in ir_measures.iter_calc(parsed, {q: qrels_dict[q] for q in ranked}, ranked):
        result[metric.query_id][names[metric.measure]] = float(metric.value)
    for qid, values in result.items():  # an empty ranking finds nothing (trec_eval skips it: make it explicit)
        if not run_dict[qid]:
            values.update({name: 0.0 for name in names.values()})
    return result


def query_metrics(grades: Mapping[str, int], ranking: Sequence[str], k: int,
                  relevance_level: int = RELEVANCE_LEVEL) -> QueryMetrics:
    """nDCG@k, RR@k, P@k, R@k and judged@k of one ranking (doc ids, best first) against one query's grades; the
    binary measures count grade >= ``relevance_level`` as relevant. The same measures as a batch run's
    (``measures_for``), so a query shows the same figures on the Search page and in a run.

    A doc id that repeats (passages of one article, see :func:`ranking_ids`) counts once, at its first rank;
    k counts distinct documents.

    Undefined values are None: with no judgment at all every metric; with judgments but no relevant document,
    nDCG, RR and recall (there is nothing to find), while P@k is 0.
    """
    if k < 1:
        raise InvalidInput(f"k must be at least 1 (got {k}).")
    top = list(dict.fromkeys(ranking))[:k]
    judged = sum(1 for doc_id in top if doc_id in grades)
    rel = check_relevance_level(relevance_level)
    relevant_total = sum(1 for grade in grades.values() if grade >= rel)
    empty = QueryMetrics(k, None, None, None, None, judged, len(top), relevant_total, rel)
    if not grades:
        return empty
    ndcg, rr, precision, recall, *_ = measures_for(k, rel)
    values = evaluate_run({_QUERY: grades}, {_QUERY: top}, [ndcg, rr, precision, recall])[_QUERY]
    has_relevant = relevant_total > 0
    has_gain = any(grade >= 1 for grade in grades.values())  # nDCG's gains are the grades, whatever the level
    return QueryMetrics(
        k=k,
        ndcg=values[ndcg] if has_gain else None,
        rr=values[rr] if has_relevant else None,
        precision=values[precision],
        recall=values[recall] if has_relevant else None,
        judged=judged,
        judged_of=len(top),
        relevant_total=relevant_total,
        relevance_level=rel,
    )
