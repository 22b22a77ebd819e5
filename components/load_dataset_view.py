"""Collections → "Load a dataset": upload a BEIR ``.zip`` or a CSV / JSONL of documents, load it in the background
(the core's :class:`~rerank_playground.dataset_load.LoadJob`, the same one the CLI runs), watch and cancel it from a
fragment that polls every second, then open the new query set on Evaluate in one click."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from components import feedback, state
from components.safe import md_escape
from components.store_access import get_store, unavailable_note
from rerank_playground import connection
from rerank_playground import dataset_load as dl
from rerank_playground.errors import PlaygroundError
from rerank_playground.playground import Playground

JOB = "collections.load_job"  # session state: this session's LoadJob
EVALUATE_SET = "evaluate.set"  # the Evaluate page's query-set selectbox
MAX_UPLOAD_MB = 200  # Streamlit's own default upload limit
DATASET_TYPES = ["zip", "csv", "jsonl"]
LOCAL_VECTORS = "local (WordLlama, offline)"


def _job() -> dl.LoadJob | None:
    value = st.session_state.get(JOB)
    return value if isinstance(value, dl.LoadJob) else None


def _vector_options(pg: Playground) -> list[str]:
    """The local embedder, and the server's text vectorizer modules (the collection then vectorizes itself)."""
    modules = pg.server.modules if pg.server else ()
    return [LOCAL_VECTORS, *(f"server:{m}" for m in modules if m.startswith("text2vec-"))]


def _start(pg: Playground, key_prefix: str) -> None:
    upload = st.session_state.get(f"{key_prefix}.file")
    if upload is None:
        feedback.flash("Choose a file to load first.", "warning", "load-dataset")
        return
    store = get_store()
    if store is None:
        feedback.flash("The query-set store is unavailable, so a dataset cannot be loaded now.", "error",
                       "load-dataset")
        return
    queries = st.session_state.get(f"{key_prefix}.queries")
    folder = Path(tempfile.mkdtemp(prefix="rerank-playground-load-"))
    try:
        name = dl.check_collection_name(str(st.session_state.get(f"{key_prefix}.collection") or ""))
        vectors_label = str(st.session_state.get(f"{key_prefix}.vectors") or LOCAL_VECTORS)
        vectors = dl.Vectors("local") if vectors_label == LOCAL_VECTORS else dl.Vectors.parse(vectors_label)
        # The uploaded names are not trusted as paths: only their extension is kept.
        path = folder / f"dataset{Path(upload.name).suffix.lower()}"
        path.write_bytes(upload.getbuffer())
        query_file = None
        if queries is not None:
            query_file = folder / f"queries{Path(queries.name).suffix.lower()}"
            query_file.write_bytes(queries.getbuffer())
        source = dl.open_source(path, split=str(st.session_state.get(f"{key_prefix}.split") or "test").strip(),
                                query_file=query_file)
    except PlaygroundError as err:
        shutil.rmtree(folder, ignore_errors=True)
        feedback.flash(md_escape(str(err)), "error", "load-dataset")
        return
    embed = None
    if vectors.kind == "local":
        from rerank_playground.embedders import get_local_embedder

        embed = get_local_embedder().embed
    spec, keys = pg.spec, pg.keys
    set_name = str(st.session_state.get(f"{key_prefix}.set_name") or "").strip() or None
    st.session_state[JOB] = dl.LoadJob(
        source, name, connect=lambda: connection.connect(spec, keys), vectors=vectors, embed=embed, store=store,
        set_name=set_name, secrets=pg.secrets, on_end=lambda: shutil.rmtree(folder, ignore_errors=True),
    ).start()


def _outcome(pg: Playground, job: dl.LoadJob, key_prefix: str) -> None:
    report = job.report
    if job.error is not None:
        st.error(md_escape(job.error))
        return
    if report is None:
        st.warning("Cancelled while checking the files: nothing was written.")
        return
    summary = (f"{md_escape(report.collection)}: {report.sent:,} objects imported, {report.skipped:,} already there, "
               f"{len(report.failed):,} failed, in {report.seconds:,.1f} s ({report.rate:,.0f} objects/s); the "
               f"collection holds {report.count:,} objects.")
    if report.cancelled:
        st.warning(f"Cancelled. {summary} Load the same file into the same collection again to resume.")
        return
    if report.failed:
        st.error(f"{summary} No query set was saved: fix the cause and load again (what is in stays).")
        st.dataframe(pd.DataFrame([{"document": f.doc_id, "reason": f.reason} for f in report.failed]),
                     hide_index=True, key=f"{key_prefix}.failures")
        return
    st.success(summary)
    if report.query_set is not None:
        qs = report.query_set
        st.write(f"Query set **{md_escape(qs.name)}**: {len(qs.queries):,} queries, {report.judgments:,} judgments.")
        if st.button("Evaluate this query set", type="primary", key=f"{key_prefix}.evaluate"):
            st.session_state[EVALUATE_SET] = qs.name  # the Evaluate page's query-set choice
            st.switch_page("pages/evaluate.py")


def _progress(pg: Playground, key_prefix: str) -> None:
    job = _job()
    if job is None:
        return

    @st.fragment(run_every=1.0 if job.running else None)
    def panel() -> None:
        p = job.progress
        if job.running and p.phase == "checking":
            st.progress(0.0, text=f"Checking the files: {p.checked:,} documents read")
        elif job.running and p.total:  # once over, the outcome below gives the final figures
            st.progress(min(1.0, p.processed / p.total),
                        text=f"{p.processed:,} of {p.total:,} documents · {p.rate:,.0f} objects/s · "
                             f"{p.skipped:,} already there · {p.failed:,} failed")
        if job.running:
            st.caption(f"Loading {md_escape(job.collection)} in the background; other pages stay usable.")
            st.button("Cancel", key=f"{key_prefix}.cancel", on_click=job.cancel, disabled=job.cancelled)
            return
        _outcome(pg, job, key_prefix)
        if st.session_state.get(f"{key_prefix}.listed") is not job:  # the new collection shows in the list
            st.session_state[f"{key_prefix}.listed"] = job
            pg.forget_collections()
            state.collections(pg, refresh=True)
            st.rerun()  # once, without the timer

    panel()


def load_dataset_panel(pg: Playground, key_prefix: str) -> None:
    store = get_store()
    if store is None:
        unavailable_note("Loading a dataset")
        return
    st.caption(
        f"Upload a BEIR-format .zip (corpus.jsonl with _id, title, text; queries.jsonl; qrels/<split>.tsv) or a "
        f"CSV / JSONL of documents (an id column and text columns; optionally a query-set file), up to "
        f"{MAX_UPLOAD_MB} MB. Every line is checked before anything is written; each document's id decides its "
        "object, so loading the same file again resumes and never duplicates. The judged queries become a query "
        "set for Evaluate."
    )
    feedback.show_flash("load-dataset")
    job = _job()
    busy = job is not None and job.running
    left, right = st.columns(2)
    with left:
        st.file_uploader("Dataset (.zip, .csv or .jsonl)", type=DATASET_TYPES, key=f"{key_prefix}.file",
                         max_upload_size=MAX_UPLOAD_MB)
        st.file_uploader("Query set for a CSV / JSONL of documents (optional: .csv query_id,query,doc_id,grade or "
                         ".json)", type=["csv", "json"], key=f"{key_prefix}.queries", max_upload_size=MAX_UPLOAD_MB)
    with right:
        st.text_input("New collection name", key=f"{key_prefix}.collection", placeholder="e.g. SciFact",
                      max_chars=100)
        st.text_input("BEIR split (qrels/<split>.tsv)", value="test", key=f"{key_prefix}.split", max_chars=50)
        st.text_input("Query set name (optional)", key=f"{key_prefix}.set_name", max_chars=200,
                      placeholder="default: '<collection> <split>'")
        options = _vector_options(pg)
        state.seed(f"{key_prefix}.vectors", LOCAL_VECTORS, options)
        st.selectbox("Document vectors", options, key=f"{key_prefix}.vectors",
                     help="The local embedder needs no key; a server module vectorizes on the server.")
    st.button("Load the dataset", type="primary", key=f"{key_prefix}.start", disabled=busy,
              on_click=_start, args=(pg, key_prefix))
    _progress(pg, key_prefix)
