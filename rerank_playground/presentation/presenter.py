"""Present a story: prepare each view (search + rerank), the next one ahead of time, off the page thread.

:func:`prepare_view` runs one view through the :class:`Playground` and never raises for what the network or
the server does: a failing search or reranker becomes a calm one-line note on that view, so the rest of the
story still works. :class:`Presenter` keeps the prepared views of one session and prepares the next view in a
background thread (one worker, so the Playground is never driven from two threads at once by it).

Nothing that spends tokens on someone's key runs ahead of time (:func:`playground.unclicked_run`, the rule the
Search and Compare pages' autoruns use too): a prefetch prepares the search and the free rerankers only, and the
paid ones wait for the presenter's key press; a view whose query is embedded by a paid API (the Jina embeddings
API, or a collection with an API vectorizer) is not searched ahead at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from rerank_playground.autorun import unclicked_run
from rerank_playground.demo.suggestions import SUGGESTED_QUERIES
from rerank_playground.errors import PlaygroundError
from rerank_playground.evaluation.judgments import QueryMetrics, normalise_query
from rerank_playground.evaluation.metrics import query_metrics
from rerank_playground.judging import RETRIEVAL, orderings
from rerank_playground.models import SearchResult
from rerank_playground.outcomes import RerankRun
from rerank_playground.playground import Playground
from rerank_playground.presentation.stories import StoryView
from rerank_playground.rerankers.choice import RerankChoice


@dataclass(frozen=True)
class Headline:
    """The numbers the room reads, each scoped to what is shown, plus nDCG before/after when the query has
    judgments. ``biggest_climb`` is over the shown top N only (the documents the room is looking at)."""

    kendall_tau: float | None  # None: undefined (fewer than two candidates, or a constant ranking)
    overlap: str  # "7/10", over the shown top N
    overlap_k: int  # the shown N
    biggest_climb: str  # "#9 → #2" (a document now in the top N) or "—"
    ndcg_before: float | None = None
    ndcg_after: float | None = None
    judged: str = ""  # "judged@10 = 6/10"
    climb_places: int = 0  # how many places that document climbed (0: none in the top N climbed)

    @property
    def ndcg_change(self) -> str:
        """The nDCG change with a direction cue in glyph and words: "▲ +0.12 better", "▼ −0.01 worse"."""
        return change_words(self.ndcg_before, self.ndcg_after)


def change_words(before: float | None, after: float | None, digits: int = 2) -> str:
    """A before → after change said with a glyph and a word, rounded as shown (a change that rounds to zero
    is "no change", so the words never contradict the two numbers beside them)."""
    if before is None or after is None:
        return ""
    delta = round(after, digits) - round(before, digits)
    if abs(delta) < 0.5 * 10 ** -digits:
        return "● no change"
    if delta > 0:
        return f"▲ +{delta:.{digits}f} better"
    return f"▼ −{-delta:.{digits}f} worse"


@dataclass(frozen=True)
class PreparedView:
    view: StoryView
    search: SearchResult | None
    runs: Mapping[str, RerankRun] = field(hash=False)  # choice label -> run, in the view's order
    errors: Mapping[str, str] = field(hash=False)  # choice label (or "search") -> one calm line
    waiting: tuple[RerankChoice, ...] = ()  # paid rerankers not run yet: they wait for a key press
    search_waits: bool = False  # the search itself spends tokens: not run ahead, it waits for the key press
    elapsed_ms: float = 0.0
    grades: Mapping[str, int] | None = field(default=None, hash=False)  # the query's judgments, when any
    # Built with the results (off the page thread when prefetched), so showing the view only draws them.
    headlines: Mapping[str, Headline] = field(default_factory=dict, hash=False)
    highlight: frozenset[str] = frozenset()  # uuids of the passage(s) the view's note talks about

    @property
    def primary(self) -> RerankRun | None:
        return next(iter(self.runs.values()), None)

    @property
    def complete(self) -> bool:
        return not self.waiting and not self.search_waits


def _calm(err: PlaygroundError) -> str:
    return err.message.strip().splitlines()[0] if err.message else "It did not work this time."


def note_passages(view: StoryView, search: SearchResult | None) -> frozenset[str]:
    """The candidates the view's note talks about: for a demo suggestion (same collection and query), the
    hits whose text holds its ``look_for`` evidence. Empty when the note is not a suggestion's."""
    if search is None or not view.note:
        return frozenset()
    key = normalise_query(view.request.query)
    for suggestion in SUGGESTED_QUERIES.get(view.request.collection, ()):
        if suggestion.look_for and normalise_query(suggestion.query) == key:
            return frozenset(hit.uuid for hit in search.hits if suggestion.look_for in hit.text)
    return frozenset()


GradesFor = Callable[[StoryView], Mapping[str, int] | None]


def prepare_view(
    pg: Playground, view: StoryView, *, allow_paid: bool, grades_for: GradesFor | None = None
) -> PreparedView:
    """Search and rerank ``view``, then its headline numbers and chart; paid rerankers only when
    ``allow_paid``. Never raises PlaygroundError (what failed is a one-line note on the view)."""
    started = time.perf_counter()
    errors: dict[str, str] = {}
    runs: dict[str, RerankRun] = {}
    waiting: list[RerankChoice] = []
    search: SearchResult | None = None
    search_waits = False
    try:
        unclicked = unclicked_run(view.request, pg.collection(view.request.collection), view.choices)
        if allow_paid or unclicked.search:
            search = pg.search(view.request)
        else:
            search_waits = True
            waiting.extend(unclicked.waiting)
            errors["search"] = ("Not prepared ahead: this view's query is embedded by a paid API, so it is "
                                "searched when the view is shown.")
    except PlaygroundError as err:
        errors["search"] = f"The search did not run: {_calm(err)}"
    if search is not None:
        for choice in view.choices:
            if choice.paid and not allow_paid:
                waiting.append(choice)
                continue
            try:
                runs[choice.label] = pg.rerank(search, choice, view.top_n)
            except PlaygroundError as err:
                errors[choice.label] = f"{choice.label} did not rerank this step: {_calm(err)}"
    grades = None
    if runs and grades_for is not None:
        try:
            grades = grades_for(view)
        except PlaygroundError:  # no judgments store: the view shows without nDCG
            grades = None
    return PreparedView(
        view=view, search=search, runs=runs, errors=errors, waiting=tuple(waiting), search_waits=search_waits,
        elapsed_ms=(time.perf_counter() - started) * 1000.0, grades=grades,
        headlines={label: headline(run, grades) for label, run in runs.items()},
        highlight=note_passages(view, search),
    )


def headline(run: RerankRun, grades: Mapping[str, int] | None = None) -> Headline:
    s = run.movement.summary
    # The same scopes as the Search page: Kendall τ over all K candidates, the overlap over the shown top N.
    k = s.shown
    overlap = f"{round(s.overlap_at_n * k)}/{k}"
    # The biggest climb among the documents the room sees (the reranked top N): a climb from #49 to #22 is
    # outside the picture and would send eyes looking for a line that is not there.
    in_view = [m for m in run.movement.moves if m.new_rank <= k and m.delta > 0]
    climb = max(in_view, key=lambda m: (m.delta, -m.new_rank), default=None)
    climb_text = "—" if climb is None else f"#{climb.original_rank} → #{climb.new_rank}"
    ndcg_before = ndcg_after = None
    judged = ""
    if grades:
        ranked = orderings(run.search.hits, {"after": run.result})
        n = s.top_n
        before: QueryMetrics = query_metrics(grades, ranked[RETRIEVAL], n)
        after: QueryMetrics = query_metrics(grades, ranked["after"], n)
        ndcg_before, ndcg_after = before.ndcg, after.ndcg
        judged = f"judged@{n} = {before.judged}/{before.judged_of} before, {after.judged}/{after.judged_of} after"
    return Headline(
        kendall_tau=s.kendall_tau, overlap=overlap, overlap_k=k, biggest_climb=climb_text,
        ndcg_before=ndcg_before, ndcg_after=ndcg_after, judged=judged,
        climb_places=0 if climb is None else climb.delta,
    )


class Presenter:
    """One session's prepared views of a story, and the background preparation of the next one."""

    def __init__(self, pg: Playground, grades_for: GradesFor | None = None) -> None:
        self.pg = pg
        self._grades_for = grades_for
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="present-prefetch")
        self._lock = threading.Lock()
        self._jobs: dict[tuple[StoryView, bool], Future[PreparedView]] = {}

    def _submit(self, view: StoryView, allow_paid: bool) -> Future[PreparedView]:
        with self._lock:
            job = self._jobs.get((view, allow_paid))
            if job is None:
                job = self._pool.submit(prepare_view, self.pg, view, allow_paid=allow_paid,
                                        grades_for=self._grades_for)
                self._jobs[(view, allow_paid)] = job
            return job

    def prefetch(self, view: StoryView) -> None:
        """Prepare ``view`` in the background: the search and the free rerankers, never a paid call."""
        with self._lock:
            if (view, True) in self._jobs:  # already shown in full: nothing to prepare
                return
        self._submit(view, allow_paid=False)

    def status(self, view: StoryView) -> str:
        """"prepared", "preparing", "prepared (paid rerankers wait for a key press)" or "not prepared"."""
        with self._lock:
            full = self._jobs.get((view, True))
            free = self._jobs.get((view, False))
        for job in (full, free):
            if job is not None and job.done():
                prepared = job.result()
                if prepared.search_waits:
                    return "not prepared (its search uses a paid API: it runs on the key press)"
                if prepared.waiting:
                    return "prepared (paid rerankers wait for a key press)"
                return "prepared"
        if full is not None or free is not None:
            return "preparing"
        return "not prepared"

    def ready(self, view: StoryView) -> PreparedView | None:
        """The prepared view without waiting (complete when possible), or None."""
        with self._lock:
            jobs = [self._jobs.get((view, True)), self._jobs.get((view, False))]
        for job in jobs:
            if job is not None and job.done():
                return job.result()
        return None

    def show(self, view: StoryView, *, allow_paid: bool) -> PreparedView:
        """The view as shown now: a finished preparation if it covers what is asked, else prepared now."""
        with self._lock:
            free = self._jobs.get((view, False))
        if free is not None:
            prepared = free.result()  # a prefetch in flight is awaited, not duplicated
            if prepared.complete or not allow_paid:
                return prepared
        return self._submit(view, allow_paid=allow_paid).result()

    def forget(self, view: StoryView) -> None:
        """Prepare ``view`` again next time (e.g. after a failure the presenter wants to retry)."""
        with self._lock:
            for allow_paid in (True, False):
                job = self._jobs.get((view, allow_paid))
                if job is not None and job.done():
                    del self._jobs[(view, allow_paid)]

    def close(self) -> None:
        """Stop preparing and drop what was prepared (the session ended, or its Playground changed)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._jobs.clear()


def prefetch_order(count: int, current: int) -> Sequence[int]:
    """Which views to prepare ahead from ``current``: the next one first, then the previous."""
    return [i for i in (current + 1, current - 1) if 0 <= i < count]
