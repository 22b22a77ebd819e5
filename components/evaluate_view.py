"""Start, watch, cancel and resume batch runs. The work runs in the core's background thread (``BatchRun``); this
only draws the form and polls ``progress()`` from a fragment that reruns on its own every second."""

from __future__ import annotations

import streamlit as st

from components import safe, search_form
from components.safe import md_escape
from rerank_playground.errors import PlaygroundError
from rerank_playground.evaluation import batch_engine, batch_plan
from rerank_playground.evaluation.judgments import RELEVANCE_LEVEL
from rerank_playground.filters import PropertyFilter
from rerank_playground.limits import MAX_COMPARED, MAX_K
from rerank_playground.models import SearchMode
from rerank_playground.playground import Playground
from rerank_playground.rerankers import get_provider, providers
from rerank_playground.rerankers.choice import RerankChoice
from rerank_playground.schema import default_rerank_property
from rerank_playground.store import Store

HANDLE = "evaluate.handle"  # session state: the BatchRun this session started or resumed last
OPEN_RUN = "runs.selected"  # session state read by the Runs page: which run to open


def _choices(pg: Playground) -> list[RerankChoice]:
    """Every model of the providers that run from the app (a batch run has no collection-bound module), those
    that need no key first."""
    runnable = sorted((p for p in providers() if p.server_module is None), key=lambda p: p.needs_key)
    return [RerankChoice(p.name, m.name) for p in runnable for m in p.models]


def _text_property_picker(pg: Playground, collection: str, key_prefix: str) -> str | None:
    """The text the rerankers read, preset by the core's rule (the same default as Search, Compare and the CLI).
    None: the collection cannot be read now (the run's own check will say why)."""
    try:
        info = pg.collection(collection)
    except PlaygroundError:
        return None
    props = list(info.text_properties)
    if not props:
        return None
    default = default_rerank_property(info)
    return str(st.selectbox(
        "Text the rerankers read", props, index=props.index(default) if default in props else 0,
        key=f"{key_prefix}.prop.{collection}",
        help="The property whose text each reranker judges; the run, its report and every row show it.",
    ))


def _filter_picker(pg: Playground, collection: str, key_prefix: str) -> tuple[PropertyFilter, ...]:
    """The run's property filter (the Search page's filter row), on the query set's collection."""
    try:
        info = pg.collection(collection)
    except PlaygroundError:
        return ()  # the text property picker above already says the collection is missing
    with st.expander("Filter (optional)"):
        return search_form.filter_row(info, f"{key_prefix}.{collection}", ())


def start_form(pg: Playground, store: Store, key_prefix: str) -> None:
    sets = store.query_sets()
    if not sets:
        st.info("No query set yet. Make one on the Query sets page (or `make demo` loads the demo's judged sets).")
        return
    by_name = {qs.name: qs for qs in sets}
    left, right = st.columns(2)
    with left:
        name = st.selectbox("Query set", list(by_name), key=f"{key_prefix}.set")
        qs = by_name[name]
        st.caption(f"{len(qs.queries)} queries on the collection {md_escape(qs.collection)}.")
        prop = _text_property_picker(pg, qs.collection, key_prefix)
        filters = _filter_picker(pg, qs.collection, key_prefix)
        options = _choices(pg)
        default = [options[0]] if not pg.has_jina_key else [options[0], options[1]]
        picked = st.multiselect(
            "Rerankers (at most 5; 'no rerank' is always the baseline)", options, default=default,
            format_func=lambda c: c.label + (" — needs a Jina key" if pg.key_missing(get_provider(c.reranker)) else ""),
            max_selections=MAX_COMPARED, key=f"{key_prefix}.rerankers",
        )
        run_name = st.text_input("Run name (optional)", key=f"{key_prefix}.name", max_chars=200)
    with right:
        modes = st.multiselect("Search modes", [m.value for m in SearchMode], default=[SearchMode.HYBRID.value],
                               key=f"{key_prefix}.modes")
        alphas = st.multiselect("Hybrid alpha (one or a grid)", [0.0, 0.25, 0.5, 0.75, 1.0], default=[0.5],
                                key=f"{key_prefix}.alphas")
        c1, c2, c3 = st.columns(3)
        limit = c1.number_input("K candidates", 1, MAX_K, 50, key=f"{key_prefix}.limit")
        sweep = st.multiselect("Depth sweep: also run these K (optional)", [10, 25, 50, 100, 200, 400],
                               key=f"{key_prefix}.sweep")
        depth = c2.number_input("Metric depth k", 1, 100, 10, key=f"{key_prefix}.k")
        level = c2.selectbox("Relevant from grade", [1, 2, 3], index=RELEVANCE_LEVEL - 1, key=f"{key_prefix}.rel",
                             help="P, R, RR and AP count a document as relevant from this grade on (trec_eval -l): "
                                  "2 counts 'relevant' and 'perfect'; 1 also 'related'. nDCG uses every grade.")
        workers = c3.number_input("Concurrency", 1, 32, 4, key=f"{key_prefix}.concurrency")
    running = _handle()
    if running is not None and running.running:
        st.info("A run of this session is in progress: watch it below, or cancel it to start another.")
        return
    if not st.button("Start run", type="primary", key=f"{key_prefix}.start"):
        return
    base = batch_plan.search_setting(limit=int(limit), alpha=float(alphas[0]) if alphas else 0.5,
                                     text_property=prop, filters=filters)
    settings = batch_plan.settings_grid(base, alphas=alphas,
                                        modes=[SearchMode(m) for m in modes] or [SearchMode.HYBRID],
                                        limits=[int(limit), *sweep] if sweep else ())
    plan = batch_plan.RunPlan(query_set=qs, settings=settings, rerankers=tuple(picked), k=int(depth),
                              name=run_name.strip(), relevance_level=int(level))
    try:
        handle = batch_engine.start_run(
            store, plan, pg.spec, keys=pg.keys, qrels=store.qrels(qs), jina_base_url=pg.jina_base_url,
            rerank_cache=pg.cache,
            options=batch_engine.EngineOptions(concurrency=int(workers)), policy=pg.policy, spend=pg.spend,
        )
    except PlaygroundError as err:
        st.error(safe.text(err))
        return
    st.session_state[HANDLE] = handle


def _handle() -> batch_engine.BatchRun | None:
    value = st.session_state.get(HANDLE)
    return value if isinstance(value, batch_engine.BatchRun) else None


def progress_panel(key_prefix: str) -> None:
    """The current run's progress; the fragment reruns itself every second while the run is active."""
    handle = _handle()
    if handle is None:
        return
    every = 1.0 if handle.running else None

    @st.fragment(run_every=every)
    def panel() -> None:
        progress = handle.progress()
        st.subheader(f"Run: {md_escape(handle.record.name)}")
        st.progress(progress.fraction, text=f"{progress.done + progress.failed} of {progress.total} orderings")
        cols = st.columns(5)
        cols[0].metric("Done", progress.done)
        cols[1].metric("Failed", progress.failed)
        cols[2].metric("Remaining", progress.remaining)
        cols[3].metric("ETA", "—" if progress.eta_s is None else f"{progress.eta_s:,.0f} s")
        cols[4].metric("Tokens spent", f"{progress.tokens:,}")
        if handle.running:
            st.caption("Runs in the background: you can open other pages; it keeps going.")
            if st.button("Cancel", key=f"{key_prefix}.cancel"):
                handle.cancel()
                st.caption("Cancelling: queries in flight finish and are saved.")
            return
        state_note = {"finished": st.success, "paused": st.warning}.get(progress.state, st.info)
        state_note(progress.message or progress.state.capitalize())
        if st.button("Open the results", key=f"{key_prefix}.open"):
            st.session_state[OPEN_RUN] = handle.run_id
            st.switch_page("pages/runs.py")
        if not progress.active and every is not None:
            st.rerun()  # the run ended: stop the timer (rerun the page once without it)

    panel()


def resume_list(pg: Playground, store: Store, key_prefix: str) -> None:
    """Saved runs that did not finish (cancelled, paused, killed) or have failed queries: resume or retry."""
    active = _handle()
    busy = active is not None and active.running
    unfinished = []
    for record in store.list_runs():
        failed = sum(1 for r in store.load_results(record.run_id) if r.status == "failed")
        if record.status != "finished" or failed:
            unfinished.append((record, failed))
    if not unfinished:
        return
    st.subheader("Unfinished runs")
    st.caption("A run that says 'running' but is not running in this app was interrupted (the app or machine "
               "stopped): resume it. Finished queries are never run again.")
    for record, failed in unfinished[:10]:
        left, mid, right = st.columns([5, 1.3, 1.3], vertical_alignment="center")
        left.write(f"**{md_escape(record.name)}** · {record.status} · {failed} failed · started "
                   f"{record.started_at:%Y-%m-%d %H:%M}")
        if busy and active is not None and active.run_id == record.run_id:
            continue
        resume = mid.button("Resume", key=f"{key_prefix}.resume.{record.run_id}", disabled=busy)
        retry = right.button("Retry failed", key=f"{key_prefix}.retry.{record.run_id}", disabled=busy or not failed)
        if resume or retry:
            try:
                st.session_state[HANDLE] = batch_engine.resume_run(
                    store, record.run_id, pg.spec, keys=pg.keys, jina_base_url=pg.jina_base_url, rerank_cache=pg.cache,
                    retry_failed=retry, policy=pg.policy, spend=pg.spend,
                )
            except PlaygroundError as err:
                st.error(safe.text(err))
                return
            st.rerun()
