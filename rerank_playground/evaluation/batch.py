"""Batch evaluation: a query set x search settings x rerank choices, run in the background, saved as it goes.

``start_run`` checks the plan (refusing an empty or unjudged set, a collection without the set's documents, a Jina
model without a key) before anything is spent, saves the run and starts a worker thread that is not tied to any
page: a pool of ``concurrency`` workers, each taking one (setting, query), searching once through the Playground and
reranking the candidates with every choice (through the Playground's rerank cache). Every finished ordering is
written to the store as its own transaction, so ``resume_run`` after a cancel, a crash or a restart runs exactly the
orderings that have no ``done`` row: none twice, none lost. A failed ordering is saved with its error and is retried
by ``resume_run(retry_failed=True)`` (optionally for chosen queries only).

All workers share one ``SharedRateLimiter``: it sits in the HTTP client of the run's Playground, so every request
to Jina waits while any worker's 429 ``Retry-After`` (or backoff) is pending, and an optional requests-per-second
cap spaces requests across workers. Transient failures (429, 5xx, timeouts, a dropped connection) are retried with
tenacity; a failure that persists is recorded for that ordering only.

If the store goes away mid-run the run pauses (state ``paused``, with a message); resume when it is back.
"""

from __future__ import annotations

import importlib.metadata
import queue
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from weaviate.classes.query import Filter

from rerank_playground.catalog import default_rerank_property
from rerank_playground.connection import ConnectionSpec
from rerank_playground.deployment import ConnectPolicy, SpendGuard
from rerank_playground.errors import (
    BadResponse,
    EmbeddingError,
    InvalidInput,
    KeyRequired,
    PlaygroundError,
    ProviderServerError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimited,
    RunRefused,
    SearchError,
    StoreUnavailable,
)
from rerank_playground.evaluation import runs
from rerank_playground.evaluation.metrics import check_relevance_level, evaluate_run, measures_for, ranking_ids
from rerank_playground.evaluation.models import RELEVANCE_LEVEL, QuerySet, SetQuery
from rerank_playground.filters import PropertyFilter, check_filters
from rerank_playground.jina_http import KEYS_URL, USER_AGENT, parse_retry_after, resolve_base_url
from rerank_playground.keys import ProviderKeys
from rerank_playground.limits import MAX_COMPARED, MAX_K
from rerank_playground.models import CollectionInfo, Fusion, Operator, RerankResult, SearchMode, SearchRequest
from rerank_playground.playground import Playground
from rerank_playground.rerankers.cache import RerankCache
from rerank_playground.rerankers.choice import RerankChoice

if TYPE_CHECKING:  # at run time the store (its stories, their cut) imports this module
    from rerank_playground.store import Store

BASELINE = "no rerank"
TRANSIENT = (RateLimited, ProviderServerError, ProviderTimeout, ProviderUnreachable, BadResponse, SearchError,
             EmbeddingError)


# --------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class SearchSetting:
    """One search configuration of a run (everything of a ``SearchRequest`` but the collection and query)."""

    mode: SearchMode = SearchMode.HYBRID
    limit: int = 50  # K: candidates retrieved and reranked
    alpha: float = 0.5
    fusion: Fusion = Fusion.RANKED
    properties: tuple[str, ...] = ()
    text_property: str | None = None
    operator: Operator = Operator.OR
    target_vector: str | None = None
    embedder: str = "auto"
    filters: tuple[PropertyFilter, ...] = ()

    def request(self, collection: str, query: str) -> SearchRequest:
        return SearchRequest(collection=collection, query=query,
                             **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def of(cls, request: SearchRequest) -> SearchSetting:
        """The settings of ``request`` (its collection and query left out)."""
        return cls(**{f.name: getattr(request, f.name) for f in fields(cls)})

    @property
    def label(self) -> str:
        """``hybrid α=0.5 K=50 · reranked on: passage`` — every setting that decides a number (a run saved
        before the property was recorded says so)."""
        parts = [self.mode.value]
        if self.mode is SearchMode.HYBRID:
            parts.append(f"α={self.alpha:g}")
        parts.append(f"K={self.limit}")
        where = "".join(f" · where {f}" for f in self.filters)
        return " ".join(parts) + where + f" · reranked on: {self.text_property or 'not recorded (older run)'}"

    def resolved(self, info: CollectionInfo) -> SearchSetting:
        """This setting with the text property the reranker will read on ``info`` (the core's default rule,
        when none was chosen), so the run records it and every row can show it."""
        if self.text_property:
            return self
        return replace(self, text_property=default_rerank_property(info))

    def to_dict(self) -> dict[str, Any]:
        """``SearchRequest``'s dict form without the collection and query."""
        data = self.request("", "").to_dict()
        del data["collection"], data["query"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSetting:
        """Read through ``SearchRequest.from_dict``: a bad field is ``InvalidInput`` naming it."""
        return cls.of(SearchRequest.from_dict(data, settings_only=True))


def settings_grid(
    base: SearchSetting, *, alphas: Sequence[float] = (), modes: Sequence[SearchMode] = (),
    limits: Sequence[int] = (),
) -> tuple[SearchSetting, ...]:
    """``base`` varied over ``modes``, for hybrid over ``alphas``, and over candidate depths ``limits`` (a depth
    sweep); each list empty = keep ``base``'s value."""
    out: list[SearchSetting] = []
    for mode in modes or (base.mode,):
        for alpha in (alphas or (base.alpha,)) if mode is SearchMode.HYBRID else (base.alpha,):
            for limit in sorted(set(limits)) or (base.limit,):
                setting = replace(base, mode=mode, alpha=float(alpha), limit=int(limit))
                if setting not in out:
                    out.append(setting)
    return tuple(out)


@dataclass(frozen=True)
class RunPlan:
    query_set: QuerySet
    settings: tuple[SearchSetting, ...] = (SearchSetting(),)
    rerankers: tuple[RerankChoice, ...] = ()
    k: int = 10  # depth of the metrics (nDCG@k, P@k, ...)
    name: str = ""
    relevance_level: int = RELEVANCE_LEVEL  # binary measures count grade >= this as relevant (trec_eval -l)

    def __post_init__(self) -> None:
        check_relevance_level(self.relevance_level)

    @property
    def measures(self) -> tuple[str, ...]:
        return measures_for(self.k, self.relevance_level)

    @property
    def orderings(self) -> tuple[str, ...]:
        return (BASELINE, *(choice.label for choice in self.rerankers))


@dataclass(frozen=True)
class EngineOptions:
    concurrency: int = 4
    max_attempts: int = 4  # per ordering, on top of the Jina client's own retries
    requests_per_second: float | None = None  # shared by every worker (None = only 429s slow it down)
    request_timeout_s: float = 30.0
    backoff_s: float = 0.5  # first wait after a transient failure without Retry-After (doubles, max 8 s)

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.max_attempts < 1 or self.request_timeout_s <= 0:
            raise InvalidInput("Concurrency and attempts must be at least 1, the timeout above 0.")
        if self.requests_per_second is not None and self.requests_per_second <= 0:
            raise InvalidInput("The request rate must be above 0 (or unset).")


# ------------------------------------------------------------------------------------------ rate limiter


class SharedRateLimiter:
    """One gate for every worker of a run.

    ``acquire`` blocks while a pause is pending (set by any worker's 429 through ``pause`` or ``observe``) and
    spaces requests to at most ``requests_per_second``. Used as httpx event hooks (``hooks``) so the Jina client's
    own retries pass through it too.
    """

    def __init__(self, requests_per_second: float | None = None, *, default_pause_s: float = 1.0) -> None:
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self.default_pause_s = default_pause_s
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._cond = threading.Condition()
        self.rate_limited = 0  # 429s seen
        self.waited_s = 0.0

    def pause(self, seconds: float) -> None:
        with self._cond:
            self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))
            self._cond.notify_all()

    def acquire(self) -> None:
        with self._cond:
            started = time.monotonic()
            while True:
                now = time.monotonic()
                wake = max(self._paused_until, self._next_slot)
                if now >= wake:
                    self._next_slot = max(now, self._next_slot) + self.interval
                    self.waited_s += now - started
                    return
                self._cond.wait(timeout=wake - now)

    def observe(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.rate_limited += 1
            wait = parse_retry_after(response.headers.get("retry-after"))
            self.pause(self.default_pause_s if wait is None else wait)

    def hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        return {"request": [lambda _request: self.acquire()], "response": [self.observe]}


def limited_http_client(limiter: SharedRateLimiter, timeout_s: float) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        event_hooks=limiter.hooks(),
    )


# ------------------------------------------------------------------------------------------------ progress


@dataclass(frozen=True)
class Progress:
    run_id: str
    state: str  # "running" | "finished" | "cancelled" | "paused" | "interrupted"
    total: int  # orderings to compute: settings x queries x (1 + rerankers)
    done: int
    failed: int
    tokens: int  # tokens spent by this run's uncached Jina calls so far
    elapsed_s: float
    eta_s: float | None
    message: str = ""

    @property
    def remaining(self) -> int:
        return self.total - self.done - self.failed

    @property
    def fraction(self) -> float:
        return (self.done + self.failed) / self.total if self.total else 1.0

    @property
    def active(self) -> bool:
        return self.state == "running"


# ------------------------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class _Task:
    setting: int
    query: SetQuery
    orderings: tuple[str, ...]  # the ones still to compute


class BatchRun:
    """A run being computed in a background thread. Thread-safe; pages poll ``progress()``."""

    def __init__(self, store: Store, record: runs.RunRecord, playground: Playground,
                 options: EngineOptions, limiter: SharedRateLimiter, tasks: list[_Task], already: tuple[int, int],
                 on_result: Callable[[runs.QueryResult], None] | None = None) -> None:
        self.run_id = record.run_id
        self.record = record
        self._store = store
        self._pg = playground
        self._options = options
        self.limiter = limiter
        self._tasks = tasks
        self._plan = plan_from_record(record)
        self._measures = tuple(record.plan["measures"])  # a resumed run keeps the measures it started with
        self._qrels = record.qrels
        self._on_result = on_result
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._store_gone = threading.Event()
        self._done, self._failed = already
        self._total = already[0] + already[1] + sum(len(t.orderings) for t in tasks)
        self._finished_now = 0
        self._tokens = 0
        self._state = "running"
        self._message = ""
        self._started = time.monotonic()
        self._queue: queue.Queue[runs.QueryResult | None] = queue.Queue()
        self._thread = threading.Thread(target=self._main, name=f"batch-run-{self.run_id[:8]}", daemon=True)

    # -- public --------------------------------------------------------------------------------------------

    def progress(self) -> Progress:
        with self._lock:
            elapsed = time.monotonic() - self._started
            remaining = self._total - self._done - self._failed
            eta = elapsed / self._finished_now * remaining if self._finished_now and self._state == "running" else None
            return Progress(self.run_id, self._state, self._total, self._done, self._failed, self._tokens, elapsed,
                            eta, self._message)

    def cancel(self) -> None:
        """Stop taking new work; orderings in flight finish and are saved. Resume continues from there."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> Progress:
        self._thread.join(timeout)
        return self.progress()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- the worker ----------------------------------------------------------------------------------------

    def _start(self) -> BatchRun:
        self._thread.start()
        return self

    def _main(self) -> None:
        writer = threading.Thread(target=self._write_loop, name=f"batch-writer-{self.run_id[:8]}", daemon=True)
        writer.start()
        try:
            try:
                with ThreadPoolExecutor(max_workers=self._options.concurrency, thread_name_prefix="batch") as pool:
                    for future in [pool.submit(self._run_task, task) for task in self._tasks]:
                        future.result()
            finally:
                self._queue.put(None)  # everything computed is queued: the writer saves it and stops
                writer.join()
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the run looking "running" forever
            self._finish("interrupted", f"The run stopped unexpectedly ({type(exc).__name__}); resume it.")
        else:
            if self._store_gone.is_set():
                self._finish("paused", self._message)
            elif self._cancel.is_set():
                self._finish("cancelled", "Cancelled; resume to finish the remaining queries.")
            else:
                failed = f" {self._failed} failed (retry them alone)." if self._failed else ""
                self._finish("finished", f"Finished.{failed}")
        finally:
            _close(self._pg)

    def _finish(self, state: str, message: str) -> None:
        with self._lock:
            self._state, self._message = state, message
        if state != "paused":
            try:
                self._store.set_run_status(self.run_id, state, message=message, ended=state == "finished")
            except StoreUnavailable as exc:
                with self._lock:
                    self._state, self._message = "paused", f"Paused: {exc}"

    def _stopping(self) -> bool:
        return self._cancel.is_set() or self._store_gone.is_set()

    def _run_task(self, task: _Task) -> None:
        if self._stopping():
            return
        setting = self._plan.settings[task.setting]
        request = setting.request(self._plan.query_set.collection, task.query.text)
        try:
            search, attempts = self._retrying(lambda: self._pg.search(request))
        except PlaygroundError as exc:
            for ordering in task.orderings:
                self._save(self._failure(task, ordering, exc, self._options.max_attempts))
            return
        id_property = self._plan.query_set.id_property
        if BASELINE in task.orderings:
            ranking = tuple(zip(ranking_ids(search.hits, id_property), (hit.score for hit in search.hits),
                                strict=True))
            self._save(self._success(task, BASELINE, ranking, search.latency_ms, None, 0, False, attempts))
        choices = {choice.label: choice for choice in self._plan.rerankers}
        for ordering in task.orderings:
            if ordering == BASELINE:
                continue
            if self._stopping():
                return
            choice = choices[ordering]

            def rerank(choice: RerankChoice = choice) -> RerankResult:
                return self._pg.reranker(choice, search).rerank(task.query.text, search.hits, choice.model, None)

            try:
                result, attempts = self._retrying(rerank)
            except PlaygroundError as exc:
                self._save(self._failure(task, ordering, exc, self._options.max_attempts))
                continue
            reranked_hits = [search.hits[doc.index] for doc in result.ranked]
            ranking = tuple(zip(ranking_ids(reranked_hits, id_property), (doc.score for doc in result.ranked),
                                strict=True))
            tokens = None if result.tokens is None else int(result.tokens)
            self._save(self._success(task, ordering, ranking, result.latency_ms, tokens, result.api_calls,
                                     result.cached, attempts))

    def _retrying(self, action: Callable[[], Any]) -> tuple[Any, int]:
        limiter, options = self.limiter, self._options

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            if isinstance(exc, RateLimited):
                limiter.pause(exc.retry_after if exc.retry_after is not None else options.backoff_s)
                return 0.0  # the limiter holds every worker until the pause is over
            return float(min(8.0, options.backoff_s * 2 ** (state.attempt_number - 1)))

        retrying = Retrying(
            stop=stop_after_attempt(options.max_attempts), wait=wait, retry=retry_if_exception_type(TRANSIENT),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                value = action()
        return value, attempt.retry_state.attempt_number

    @staticmethod
    def _success(task: _Task, ordering: str, ranking: tuple[tuple[str, float | None], ...], latency_ms: float,
                 tokens: int | None, api_calls: int, cached: bool, attempts: int) -> runs.QueryResult:
        """A computed ordering; its metrics are added by the writer (in batches: far cheaper per query)."""
        return runs.QueryResult(
            setting=task.setting, query_id=task.query.query_id, query=task.query.text, ordering=ordering,
            status="done", ranking=ranking, latency_ms=latency_ms, tokens=tokens, api_calls=api_calls, cached=cached,
            attempts=attempts,
        )

    @staticmethod
    def _failure(task: _Task, ordering: str, exc: PlaygroundError, attempts: int) -> runs.QueryResult:
        return runs.QueryResult(
            setting=task.setting, query_id=task.query.query_id, query=task.query.text, ordering=ordering,
            status="failed", attempts=attempts, error=str(exc),
        )

    def _save(self, result: runs.QueryResult) -> None:
        """Hand a computed ordering to the writer. It counts as finished only once the store has it."""
        self._queue.put(result)

    def _write_loop(self) -> None:
        """The one writer: takes what the workers have computed so far, scores it (one ir-measures call per
        setting and ordering) and saves it in one transaction (group commit: under load, several orderings share a
        commit; alone, each is saved at once). A result is counted, and reported, only after its commit."""
        stop = False
        while not stop:
            pending = [self._queue.get()]
            while len(pending) < 500:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in pending
            results = [r for r in pending if r is not None]
            if not results or self._store_gone.is_set():
                continue
            try:
                results = self._with_metrics(results)
                self._store.save_results(self.run_id, results)
            except StoreUnavailable as exc:
                self._pause(f"Paused: {exc.message} The finished queries are saved; resume the run when the store "
                            "is back.")
                continue
            except Exception as exc:  # noqa: BLE001 - never die silently with workers still queueing
                self._pause(f"Paused: saving results failed unexpectedly ({type(exc).__name__}); resume the run.")
                continue
            for result in results:
                with self._lock:
                    self._finished_now += 1
                    if result.status == "done":
                        self._done += 1
                        if not result.cached and result.tokens:
                            self._tokens += result.tokens
                    else:
                        self._failed += 1
                if self._on_result is not None:
                    self._on_result(result)

    def _pause(self, message: str) -> None:
        with self._lock:
            self._message = message
        self._store_gone.set()  # workers stop taking work; _main ends the run as "paused"

    def _with_metrics(self, results: list[runs.QueryResult]) -> list[runs.QueryResult]:
        return score_results(results, self._qrels, self._measures)


def score_results(results: Sequence[runs.QueryResult], qrels: Mapping[str, Mapping[str, int]],
                  measures: Sequence[str]) -> list[runs.QueryResult]:
    """``results`` with the metrics of each done ordering (one ir-measures call per setting and ordering): the
    tool's figures, which a TREC export must reproduce."""
    groups: dict[tuple[int, str], dict[str, runs.QueryResult]] = {}
    for r in results:
        if r.status == "done":
            groups.setdefault((r.setting, r.ordering), {})[r.query_id] = r
    scored: dict[tuple[int, str, str], dict[str, float]] = {}
    for (setting, ordering), by_query in groups.items():
        values = evaluate_run({q: qrels.get(q, {}) for q in by_query},
                              {q: list(r.doc_ids) for q, r in by_query.items()}, measures)
        for q in by_query:
            scored[(setting, q, ordering)] = {name: float(v) for name, v in values.get(q, {}).items()}
    return [replace(r, metrics=scored[r.key]) if r.status == "done" else r for r in results]


# ------------------------------------------------------------------------------------- starting a run


def app_version() -> str:
    try:
        return importlib.metadata.version("rerank-playground")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout without an install
        return "unknown"


def batch_playground(spec: ConnectionSpec, *, jina_base_url: str | None, limiter: SharedRateLimiter,
                     timeout_s: float, rerank_cache: RerankCache | None = None,
                     policy: ConnectPolicy | None = None, spend: SpendGuard | None = None,
                     keys: ProviderKeys | None = None) -> Playground:
    """A Playground of its own for the run (its own Weaviate client, HTTP client behind the shared limiter), that
    shares the session's rerank cache so work already done in the UI is not paid twice."""
    http = limited_http_client(limiter, timeout_s)
    pg = Playground(spec, keys=keys, jina_base_url=jina_base_url, http_client=http, rerank_cache=rerank_cache,
                    policy=policy, spend=spend)
    try:
        pg.connect()
    except BaseException:
        http.close()
        raise
    return pg


def _close(pg: Playground) -> None:
    """Close the run's Playground and the HTTP client made for it (a Playground leaves injected clients open)."""
    pg.shutdown()
    pg._http.close()  # noqa: SLF001 - made by batch_playground for this run only


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
    present = existing_documents(pg, info.name, doc_ids, plan.query_set.id_property)
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


def existing_documents(pg: Playground, collection: str, doc_ids: Collection[str], id_property: str | None) -> set[str]:
    """Which of ``doc_ids`` exist in ``collection`` (by uuid, or by ``id_property``'s value)."""
    coll = pg.client.collections.get(collection)
    found: set[str] = set()
    ids = sorted(doc_ids)
    for lo in range(0, len(ids), 200):
        chunk = ids[lo : lo + 200]
        if id_property is None:
            valid = [d for d in chunk if _is_uuid(d)]
            if not valid:
                continue
            reply = coll.query.fetch_objects(filters=Filter.by_id().contains_any(valid), limit=len(valid),
                                             return_properties=[])
            found.update(str(obj.uuid) for obj in reply.objects)
        else:
            reply = coll.query.fetch_objects(filters=Filter.by_property(id_property).contains_any(chunk),
                                             limit=10_000, return_properties=[id_property])
            found.update(str(obj.properties.get(id_property)) for obj in reply.objects)
    return found & set(doc_ids)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def plan_to_dict(plan: RunPlan, notes: Sequence[str] = ()) -> dict[str, Any]:
    qs = plan.query_set
    return {
        "name": plan.name,
        "query_set": {"name": qs.name, "collection": qs.collection, "id_property": qs.id_property,
                      "queries": [[q.query_id, q.text] for q in qs.queries]},
        "settings": [s.to_dict() for s in plan.settings],
        "rerankers": [{"reranker": c.reranker, "model": c.model, "label": c.label} for c in plan.rerankers],
        "k": plan.k,
        "relevance_level": plan.relevance_level,
        "measures": list(plan.measures),
        "notes": list(notes),
    }


def run_endpoints(spec: ConnectionSpec, jina_base_url: str | None) -> dict[str, Any]:
    """Where a run searched and reranked, saved with it so a resume goes back there: addresses only, never keys."""
    return {"url": spec.url, "grpc_port": spec.grpc_target[1], "jina_base_url": resolve_base_url(jina_base_url)}


def stored_endpoints(record: runs.RunRecord) -> dict[str, Any]:
    """The endpoints :func:`run_endpoints` saved with a run (empty for runs saved before they were kept)."""
    return dict(record.plan.get("endpoints") or {})


def plan_from_record(record: runs.RunRecord) -> RunPlan:
    data = record.plan
    qs = data["query_set"]
    return RunPlan(
        query_set=QuerySet(name=qs["name"], collection=qs["collection"],
                           queries=tuple(SetQuery(qid, text) for qid, text in qs["queries"]),
                           id_property=qs.get("id_property")),
        settings=tuple(SearchSetting.from_dict(s) for s in data["settings"]),
        rerankers=tuple(RerankChoice(c["reranker"], c["model"]) for c in data["rerankers"]),
        k=int(data["k"]),
        name=data.get("name", ""),
        relevance_level=int(data.get("relevance_level", 1)),  # runs saved before the level was named used 1
    )


def _tasks(plan: RunPlan, qrels: Mapping[str, Mapping[str, int]], have: Mapping[tuple[int, str, str], str], *,
           retry_failed: bool, only_queries: Collection[str] | None) -> list[_Task]:
    tasks = []
    for setting in range(len(plan.settings)):
        for query in plan.query_set.queries:
            if not qrels.get(query.query_id):
                continue
            if only_queries is not None and query.query_id not in only_queries:
                continue
            todo = tuple(
                o for o in plan.orderings
                if (state := have.get((setting, query.query_id, o))) is None or (retry_failed and state == "failed")
            )
            if todo:
                tasks.append(_Task(setting, query, todo))
    return tasks


def start_run(
    store: Store,
    plan: RunPlan,
    spec: ConnectionSpec,
    *,
    qrels: Mapping[str, Mapping[str, int]],
    jina_base_url: str | None = None,
    rerank_cache: RerankCache | None = None,
    options: EngineOptions | None = None,
    on_result: Callable[[runs.QueryResult], None] | None = None,
    policy: ConnectPolicy | None = None,
    spend: SpendGuard | None = None,
    keys: ProviderKeys | None = None,
) -> BatchRun:
    """Check the plan, save the run and start computing it in the background. ``qrels`` (query id -> doc id ->
    grade; ``store.qrels(query_set)``) is kept with the run as a snapshot."""
    options = options or EngineOptions()
    limiter = SharedRateLimiter(options.requests_per_second, default_pause_s=options.backoff_s)
    pg = batch_playground(spec, jina_base_url=jina_base_url, limiter=limiter, timeout_s=options.request_timeout_s,
                          rerank_cache=rerank_cache, policy=policy, spend=spend,  # the session's budgets apply
                          keys=keys)
    try:
        notes = check_plan(pg, plan, qrels)
        info = pg.collection(plan.query_set.collection)
        plan = replace(plan, settings=tuple(dict.fromkeys(s.resolved(info) for s in plan.settings)))
        judged = {q.query_id for q in plan.query_set.queries}
        record = runs.RunRecord(
            run_id=uuid.uuid4().hex, name=plan.name or f"{plan.query_set.name} · {datetime.now(UTC):%Y-%m-%d %H:%M}",
            collection=info.name, query_set=plan.query_set.name, status="running",
            plan={**plan_to_dict(plan, notes), "endpoints": run_endpoints(spec, jina_base_url)},
            qrels={qid: dict(grades) for qid, grades in qrels.items() if qid in judged and grades},
            app_version=app_version(), server_version=pg.server.version if pg.server else "unknown",
            object_count=info.count,
        )
        store.create_run(record)
    except BaseException:
        _close(pg)
        raise
    tasks = _tasks(plan, record.qrels, {}, retry_failed=False, only_queries=None)
    return BatchRun(store, record, pg, options, limiter, tasks, (0, 0), on_result)._start()


def resume_run(
    store: Store,
    run_id: str,
    spec: ConnectionSpec,
    *,
    jina_base_url: str | None = None,
    rerank_cache: RerankCache | None = None,
    options: EngineOptions | None = None,
    retry_failed: bool = False,
    only_queries: Collection[str] | None = None,
    on_result: Callable[[runs.QueryResult], None] | None = None,
    policy: ConnectPolicy | None = None,
    spend: SpendGuard | None = None,
    keys: ProviderKeys | None = None,
) -> BatchRun:
    """Continue a saved run: compute every ordering without a saved row (and, with ``retry_failed``, the failed
    ones; ``only_queries`` limits that to some query ids). Uses the plan and qrels saved with the run."""
    options = options or EngineOptions()
    record = store.get_run(run_id)
    plan = plan_from_record(record)
    have = {r.key: r.status for r in store.load_results(run_id)}
    limiter = SharedRateLimiter(options.requests_per_second, default_pause_s=options.backoff_s)
    pg = batch_playground(spec, jina_base_url=jina_base_url, limiter=limiter, timeout_s=options.request_timeout_s,
                          rerank_cache=rerank_cache, policy=policy, spend=spend,  # the session's budgets apply
                          keys=keys)
    try:
        for choice in plan.rerankers:
            if choice.provider is not None and pg.key_missing(choice.provider):
                raise KeyRequired(f"{choice.model} needs a Jina API key to resume this run.",
                                  hint="Set JINAAI_APIKEY.", provider=choice.reranker,
                                  model=choice.model)
        tasks = _tasks(plan, record.qrels, have, retry_failed=retry_failed, only_queries=only_queries)
        retried = {(t.setting, t.query.query_id, o) for t in tasks for o in t.orderings}
        done = sum(1 for key, state in have.items() if state == "done")
        failed = sum(1 for key, state in have.items() if state == "failed" and key not in retried)
        store.set_run_status(run_id, "running", message="Resumed.")
    except BaseException:
        _close(pg)
        raise
    return BatchRun(store, record, pg, options, limiter, tasks, (done, failed), on_result)._start()
