"""The plan of a batch run: a query set x search settings x rerank choices, checked before anything is spent.

A search setting is a ``SearchRequest`` without its collection and query (both left empty): the run fills in the
query set's collection and each query. It is saved with the run through ``SearchRequest``'s one dict codec
(``to_dict(settings_only=True)`` / ``from_dict(settings_only=True)``), so a new search option reaches batch runs
with no change here. ``batch_engine`` computes a plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rerank_playground.errors import KeyRequired, RunRefused
from rerank_playground.evaluation.judgments import RELEVANCE_LEVEL, QuerySet, SetQuery
from rerank_playground.evaluation.metrics import check_relevance_level, measures_for
from rerank_playground.filters import check_filters
from rerank_playground.jina_http import KEYS_URL, resolve_base_url
from rerank_playground.limits import MAX_COMPARED, MAX_K
from rerank_playground.models import CollectionInfo, SearchMode, SearchRequest
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.schema import default_rerank_property
from rerank_playground.search import existing_ids

if TYPE_CHECKING:
    from rerank_playground.connection import ConnectionSpec
    from rerank_playground.evaluation import runs
    from rerank_playground.playground import Playground

BASELINE = "no rerank"


# ------------------------------------------------------------------------------------------ search settings


def search_setting(**fields: Any) -> SearchRequest:
    """A plan's search setting: ``SearchRequest(**fields)`` with the collection and query left empty."""
    return SearchRequest(collection="", query="", **fields)


def setting_of(request: SearchRequest) -> SearchRequest:
    """The settings of ``request`` (its collection and query left out)."""
    return replace(request, collection="", query="") if request.collection or request.query else request


def for_query(setting: SearchRequest, collection: str, query: str) -> SearchRequest:
    """The search a run makes for one query of its set."""
    return replace(setting, collection=collection, query=query)


def setting_label(setting: SearchRequest) -> str:
    """``hybrid α=0.5 K=50 · reranked on: passage`` — every setting that decides a number (a run saved before the
    property was recorded says so)."""
    parts = [setting.mode.value]
    if setting.mode is SearchMode.HYBRID:
        parts.append(f"α={setting.alpha:g}")
    parts.append(f"K={setting.limit}")
    where = "".join(f" · where {f}" for f in setting.filters)
    return " ".join(parts) + where + f" · reranked on: {setting.text_property or 'not recorded (older run)'}"


def resolve_setting(setting: SearchRequest, info: CollectionInfo) -> SearchRequest:
    """``setting`` with the text property the reranker will read on ``info`` (the core's default rule, when none
    was chosen), so the run records it and every row can show it."""
    if setting.text_property:
        return setting
    return replace(setting, text_property=default_rerank_property(info))


def settings_grid(
    base: SearchRequest, *, alphas: Sequence[float] = (), modes: Sequence[SearchMode] = (),
    limits: Sequence[int] = (),
) -> tuple[SearchRequest, ...]:
    """``base`` varied over ``modes``, for hybrid over ``alphas``, and over candidate depths ``limits`` (a depth
    sweep); each list empty = keep ``base``'s value."""
    base = setting_of(base)
    out: list[SearchRequest] = []
    for mode in modes or (base.mode,):
        for alpha in (alphas or (base.alpha,)) if mode is SearchMode.HYBRID else (base.alpha,):
            for limit in sorted(set(limits)) or (base.limit,):
                setting = replace(base, mode=mode, alpha=float(alpha), limit=int(limit))
                if setting not in out:
                    out.append(setting)
    return tuple(out)


# ---------------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class RunPlan:
    query_set: QuerySet
    # each a SearchRequest without collection and query (a full request given here is reduced to its settings)
    settings: tuple[SearchRequest, ...] = (search_setting(),)
    rerankers: tuple[RerankChoice, ...] = ()
    k: int = 10  # depth of the metrics (nDCG@k, P@k, ...)
    name: str = ""
    relevance_level: int = RELEVANCE_LEVEL  # binary measures count grade >= this as relevant (trec_eval -l)

    def __post_init__(self) -> None:
        check_relevance_level(self.relevance_level)
        object.__setattr__(self, "settings", tuple(setting_of(s) for s in self.settings))

    @property
    def measures(self) -> tuple[str, ...]:
        return measures_for(self.k, self.relevance_level)

    @property
    def orderings(self) -> tuple[str, ...]:
        return (BASELINE, *(choice.label for choice in self.rerankers))


def check_plan(pg: Playground, plan: RunPlan, qrels: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Refuse a plan that cannot give a meaningful result, before anything is spent. Returns notes (partial
    coverage) to keep with the run."""
    if not plan.query_set.queries:
        raise RunRefused(f"The query set {plan.query_set.name!r} has no queries.",
                         hint="Add queries to it (Search page: 'add this query to a set') or import a file.")
    if not plan.settings:
        raise RunRefused("Choose at least one search setting.")
    if not 1 <= plan.k <= MAX_K:
        raise RunRefused(f"The metric depth k must be between 1 and {MAX_K}, not {plan.k}.")
    if len(plan.rerankers) > MAX_COMPARED:
        raise RunRefused(f"Choose at most {MAX_COMPARED} rerankers (plus the no-rerank baseline).")
    labels = [c.label for c in plan.rerankers]
    if len(set(labels)) != len(labels) or BASELINE in labels:
        raise RunRefused("Each reranker can be chosen once.")
    for choice in plan.rerankers:
        if choice.provider is not None and pg.key_missing(choice.provider):
            raise KeyRequired(f"{choice.model} needs a Jina API key, and none is set.",
                              hint=f"Set JINAAI_APIKEY, or drop that model. Free keys: "
                                   f"{KEYS_URL}", provider=choice.reranker, model=choice.model)
    judged = [q for q in plan.query_set.queries if qrels.get(q.query_id)]
    if not judged:
        raise RunRefused(f"No query of the set {plan.query_set.name!r} has judgments, so nothing can be scored.",
                         hint="Grade some results (Judge view) or import judgments first.")
    info = pg.collection(plan.query_set.collection)  # CollectionNotFound names the collection
    for setting in plan.settings:
        if setting.limit < 1:
            raise RunRefused("K (candidates per query) must be at least 1.")
        if setting.text_property and setting.text_property not in info.text_properties:
            raise RunRefused(f"The collection {info.name!r} has no text property {setting.text_property!r}.")
        check_filters(setting.filters, info.properties, info.name)  # a bad filter names its property
    doc_ids = {doc for q in judged for doc in qrels[q.query_id]}
    present = existing_ids(pg.client, info.name, doc_ids, plan.query_set.id_property)
    notes = []
    if not present:
        raise RunRefused(f"The collection {info.name!r} holds none of the {len(doc_ids)} documents judged in the set "
                         f"{plan.query_set.name!r}.",
                         hint="Pick the collection the set was judged on (or reload it), then start again.")
    if len(present) < len(doc_ids):
        notes.append(f"{len(doc_ids) - len(present)} of {len(doc_ids)} judged documents are not in the collection.")
    if len(judged) < len(plan.query_set.queries):
        notes.append(f"{len(plan.query_set.queries) - len(judged)} of {len(plan.query_set.queries)} queries have no "
                     "judgments and are left out.")
    return notes


# ------------------------------------------------------------------------------------------ saved with the run


def plan_to_dict(plan: RunPlan, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The plan as the runs table keeps it (JSON); :func:`plan_from_record` reads it back."""
    qs = plan.query_set
    return {
        "name": plan.name,
        "query_set": {"name": qs.name, "collection": qs.collection, "id_property": qs.id_property,
                      "queries": [[q.query_id, q.text] for q in qs.queries]},
        "settings": [s.to_dict(settings_only=True) for s in plan.settings],
        "rerankers": [{"reranker": c.reranker, "model": c.model, "label": c.label} for c in plan.rerankers],
        "k": plan.k,
        "relevance_level": plan.relevance_level,
        "measures": list(plan.measures),
        "notes": list(notes),
    }


def plan_from_record(record: runs.RunRecord) -> RunPlan:
    """The plan saved with ``record`` (by :func:`plan_to_dict`, now or by an earlier version: its settings are read
    by ``SearchRequest.from_dict``, which takes the older names too)."""
    data = record.plan
    qs = data["query_set"]
    return RunPlan(
        query_set=QuerySet(name=qs["name"], collection=qs["collection"],
                           queries=tuple(SetQuery(qid, text) for qid, text in qs["queries"]),
                           id_property=qs.get("id_property")),
        settings=tuple(SearchRequest.from_dict(s, settings_only=True) for s in data["settings"]),
        rerankers=tuple(RerankChoice(c["reranker"], c["model"]) for c in data["rerankers"]),
        k=int(data["k"]),
        name=data.get("name", ""),
        relevance_level=int(data.get("relevance_level", 1)),  # runs saved before the level was named used 1
    )


def run_endpoints(spec: ConnectionSpec, jina_base_url: str | None) -> dict[str, Any]:
    """Where a run searched and reranked, saved with it so a resume goes back there: addresses only, never keys."""
    return {"url": spec.url, "grpc_port": spec.grpc_target[1], "jina_base_url": resolve_base_url(jina_base_url)}


def stored_endpoints(record: runs.RunRecord) -> dict[str, Any]:
    """The endpoints :func:`run_endpoints` saved with a run (empty for runs saved before they were kept)."""
    return dict(record.plan.get("endpoints") or {})
