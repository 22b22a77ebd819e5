"""The batch engine: computes a ``batch_plan.RunPlan`` in the background, saved as it goes.

``start_run`` checks the plan (``batch_plan.check_plan``: an empty or unjudged set, a collection without the set's
documents, a Jina model without a key are refused before anything is spent), saves the run and starts a worker
thread that is not tied to any page: a pool of ``concurrency`` workers taking jobs: one search per (setting, query)
through the Playground, then one job per rerank choice of its candidates (through the Playground's rerank cache),
run before the next search. Workers only compute: one writer thread scores what they handed over and saves it in
group commits (``EngineOptions.commit_interval_s``), so
``resume_run`` after a cancel, a crash or a restart runs exactly the orderings that have no ``done`` row: none
twice, none lost. A failed ordering is saved with its error and is retried by ``resume_run(retry_failed=True)``
(optionally for chosen queries only).

All workers share one ``rate_limit.SharedRateLimiter`` in the HTTP client the engine makes for the run (and closes
when the run ends): every request to Jina waits while any worker's 429 ``Retry-After`` (or backoff) is pending, and
an optional requests-per-second cap spaces requests across workers. Transient failures (429, 5xx, timeouts, a
dropped connection) are retried with tenacity; a failure that persists is recorded for that ordering only.

If the store goes away mid-run the run pauses (state ``paused``, with a message); resume when it is back.
"""

from __future__ import annotations

import functools
import importlib.metadata
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

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
    SearchError,
    StoreUnavailable,
)
from rerank_playground.evaluation import runs
from rerank_playground.evaluation.batch_plan import (
    BASELINE,
    RunPlan,
    check_plan,
    for_query,
    plan_from_record,
    plan_to_dict,
    resolve_setting,
    run_endpoints,
)
from rerank_playground.evaluation.judgments import SetQuery
from rerank_playground.evaluation.metrics import evaluate_run, ranking_ids
from rerank_playground.keys import ProviderKeys
from rerank_playground.models import RerankResult, SearchResult
from rerank_playground.playground import Playground
from rerank_playground.rate_limit import SharedRateLimiter, limited_http_client
from rerank_playground.rerankers.cache import RerankCache
from rerank_playground.rerankers.choice import RerankChoice

if TYPE_CHECKING:  # the store imports stories -> cutoff -> batch_plan: at run time only as a type
    from rerank_playground.store import Store

TRANSIENT = (RateLimited, ProviderServerError, ProviderTimeout, ProviderUnreachable, BadResponse, SearchError,
             EmbeddingError)


@dataclass(frozen=True)
class EngineOptions:
    concurrency: int = 4
    max_attempts: int = 4  # per ordering, on top of the Jina client's own retries
    requests_per_second: float | None = None  # shared by every worker (None = only 429s slow it down)
    request_timeout_s: float = 30.0
    backoff_s: float = 0.5  # first wait after a transient failure without Retry-After (doubles, max 8 s)
    # The writer gathers what the workers finish for this long before one scoring call and one commit: per-commit
    # and per-scoring costs are paid a few times a second, not per ordering. A crash loses at most this window of
    # computed orderings, which have no row yet, so a resume computes them again (none twice, none lost).
    commit_interval_s: float = 0.25

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.max_attempts < 1 or self.request_timeout_s <= 0 or self.commit_interval_s < 0:
            raise InvalidInput("Concurrency and attempts must be at least 1, the timeout above 0.")
        if self.requests_per_second is not None and self.requests_per_second <= 0:
            raise InvalidInput("The request rate must be above 0 (or unset).")


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


class JobPool:
    """A run's workers: ``workers`` threads taking jobs by priority until none is left. A searched query's
    reranks go before the next search, so a query with five rerankers keeps five calls in flight rather than
    one after another, its orderings are saved together, and only about ``workers`` searched candidate lists wait
    in memory. ``run`` raises the first exception a job raised (a bug), after the other jobs are done."""

    RERANK, SEARCH, _END = 0, 1, 2

    def __init__(self, workers: int, name: str) -> None:
        self._workers = workers
        self._name = name
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], None] | None]] = queue.PriorityQueue()
        self._order = itertools.count()  # FIFO within a priority
        self._lock = threading.Lock()
        self._open = 0  # added and not finished; only a running job adds one, so 0 means all done
        self._error: BaseException | None = None

    def add(self, priority: int, job: Callable[[], None]) -> None:
        with self._lock:
            self._open += 1
        self._queue.put((priority, next(self._order), job))

    def run(self) -> None:
        if not self._open:
            return
        threads = [threading.Thread(target=self._work, name=f"{self._name}-{i}", daemon=True)
                   for i in range(self._workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - handed to run(), which re-raises it
                with self._lock:
                    self._error = self._error or exc
            finally:
                with self._lock:
                    self._open -= 1
                    last = self._open == 0
                if last:
                    for _ in range(self._workers):
                        self._queue.put((self._END, next(self._order), None))


class BatchRun:
    """A run being computed in a background thread. Thread-safe; pages poll ``progress()``."""

    def __init__(self, store: Store, record: runs.RunRecord, connection: RunConnection,
                 options: EngineOptions, tasks: list[_Task], already: tuple[int, int],
                 on_result: Callable[[runs.QueryResult], None] | None = None) -> None:
        self.run_id = record.run_id
        self.record = record
        self._store = store
        self._connection = connection
        self._pg = connection.playground
        self._options = options
        self.limiter = connection.limiter
        self._tasks = tasks
        self._plan = plan_from_record(record)
        self._choices = {choice.label: choice for choice in self._plan.rerankers}
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
                jobs = JobPool(self._options.concurrency, f"batch-{self.run_id[:8]}")
                for task in self._tasks:
                    jobs.add(JobPool.SEARCH, functools.partial(self._search, task, jobs))
                jobs.run()
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
            self._connection.close()

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

    def _search(self, task: _Task, jobs: JobPool) -> None:
        """One job: search one query of one setting, save its baseline and queue a job per rerank ordering."""
        if self._stopping():
            return
        setting = self._plan.settings[task.setting]
        request = for_query(setting, self._plan.query_set.collection, task.query.text)
        try:
            search, attempts = self._retrying(lambda: self._pg.search(request))
        except PlaygroundError as exc:
            for ordering in task.orderings:
                self._save(self._failure(task, ordering, exc, self._options.max_attempts))
            return
        if BASELINE in task.orderings:
            ranking = tuple(zip(ranking_ids(search.hits, self._plan.query_set.id_property),
                                (hit.score for hit in search.hits), strict=True))
            self._save(self._success(task, BASELINE, ranking, search.latency_ms, None, 0, False, attempts))
        for ordering in task.orderings:
            if ordering != BASELINE:
                jobs.add(JobPool.RERANK, functools.partial(self._rerank, task, search, self._choices[ordering]))

    def _rerank(self, task: _Task, search: SearchResult, choice: RerankChoice) -> None:
        """One job: rerank one searched query's candidates with one choice and save the ordering."""
        if self._stopping():
            return

        def rerank() -> RerankResult:
            return self._pg.reranker(choice, search).rerank(task.query.text, search.hits, choice.model, None)

        try:
            result, attempts = self._retrying(rerank)
        except PlaygroundError as exc:
            self._save(self._failure(task, choice.label, exc, self._options.max_attempts))
            return
        reranked_hits = [search.hits[doc.index] for doc in result.ranked]
        ranking = tuple(zip(ranking_ids(reranked_hits, self._plan.query_set.id_property),
                            (doc.score for doc in result.ranked), strict=True))
        tokens = None if result.tokens is None else int(result.tokens)
        self._save(self._success(task, choice.label, ranking, result.latency_ms, tokens, result.api_calls,
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
        """The one writer: gathers what the workers finish during ``commit_interval_s`` (or until 500 are waiting,
        or the run's end), scores it (one ir-measures call per setting and ordering) and saves it in one
        transaction. A result is counted, and reported, only after its commit."""
        stop = False
        while not stop:
            pending = [self._queue.get()]
            deadline = time.monotonic() + self._options.commit_interval_s
            while len(pending) < 500 and pending[-1] is not None:
                try:
                    pending.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
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


@dataclass(frozen=True)
class RunConnection:
    """What a run talks through, made by the engine for that run and closed when it ends: a Playground of its own
    (its own Weaviate client) whose HTTP client passes every Jina request through the run's shared limiter."""

    playground: Playground
    http: httpx.Client
    limiter: SharedRateLimiter

    def close(self) -> None:
        self.playground.shutdown()  # a Playground leaves an HTTP client it was given open: the engine made it
        self.http.close()


def open_run_connection(spec: ConnectionSpec, options: EngineOptions, *, jina_base_url: str | None,
                        rerank_cache: RerankCache | None = None, policy: ConnectPolicy | None = None,
                        spend: SpendGuard | None = None, keys: ProviderKeys | None = None) -> RunConnection:
    """Connect a run's own Playground, sharing the session's rerank cache (work already done in the UI is not paid
    twice) and budgets. The caller closes it (``BatchRun`` does when the run ends)."""
    limiter = SharedRateLimiter(options.requests_per_second, default_pause_s=options.backoff_s)
    http = limited_http_client(limiter, options.request_timeout_s)
    pg = Playground(spec, keys=keys, jina_base_url=jina_base_url, http_client=http, rerank_cache=rerank_cache,
                    policy=policy, spend=spend)
    try:
        pg.connect()
    except BaseException:
        http.close()
        raise
    return RunConnection(pg, http, limiter)


def app_version() -> str:
    try:
        return importlib.metadata.version("rerank-playground")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout without an install
        return "unknown"




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
    grade; ``store.qrels(query_set)``) is kept with the run as a snapshot.

    Example (the demo's query set, hybrid search, no rerank vs the local baseline)::

        from rerank_playground.evaluation.batch_plan import RunPlan, search_setting
        from rerank_playground.models import SearchMode
        from rerank_playground.rerankers.choice import parse_choice
        from rerank_playground.store import open_store

        with open_store() as store:
            query_set = store.query_set("DemoWiki key-term queries")
            plan = RunPlan(query_set, settings=(search_setting(mode=SearchMode.HYBRID, limit=50),),
                           rerankers=(parse_choice("local"),), k=10)
            run = start_run(store, plan, spec, qrels=store.qrels(query_set))
            progress = run.wait()  # or poll run.progress() from a UI
    """
    options = options or EngineOptions()
    connection = open_run_connection(spec, options, jina_base_url=jina_base_url, rerank_cache=rerank_cache,
                                     policy=policy, spend=spend, keys=keys)  # the session's budgets apply
    pg = connection.playground
    try:
        notes = check_plan(pg, plan, qrels)
        info = pg.collection(plan.query_set.collection)
        plan = replace(plan, settings=tuple(dict.fromkeys(resolve_setting(s, info) for s in plan.settings)))
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
        connection.close()
        raise
    tasks = _tasks(plan, record.qrels, {}, retry_failed=False, only_queries=None)
    return BatchRun(store, record, connection, options, tasks, (0, 0), on_result)._start()


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
    connection = open_run_connection(spec, options, jina_base_url=jina_base_url, rerank_cache=rerank_cache,
                                     policy=policy, spend=spend, keys=keys)  # the session's budgets apply
    pg = connection.playground
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
        connection.close()
        raise
    return BatchRun(store, record, connection, options, tasks, (done, failed), on_result)._start()

