"""Query sets: list, create, import (CSV, JSON, TREC topics + qrels), export and delete.

Imports go through :mod:`rerank_playground.evaluation.io`: the whole file is checked first and stored in one
transaction, so a bad file names its line and what is wrong, and nothing is imported. Deleting asks first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from components import feedback, safe, state
from components.safe import md_escape
from rerank_playground import tables
from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation import files, io
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.playground import Playground
from rerank_playground.store import Store

FORMATS = {"csv": "CSV (query_id,query,doc_id,grade)", "json": "JSON", "trec": "TREC topics + qrels"}
UUID_IDS = "Weaviate uuid"
MAX_UPLOAD_MB = files.MAX_FILE_MB  # the browser refuses more; files.decode checks again on the server


def collection_names(pg: Playground) -> list[str] | None:
    """The connected server's collections, or None when not connected (or the list failed)."""
    if not pg.connected:
        return None
    infos, error = feedback.call_safely(lambda: state.collections(pg), "listing collections")
    if error:
        st.warning(f"Could not list the collections: {error}")
        return None
    return [info.name for info in infos or []]


class _Qrels:
    """Each set's qrels read once per run (the table of sets and the chosen set both need them)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.read: dict[str, dict[str, dict[str, int]]] = {}

    def __call__(self, query_set: QuerySet) -> dict[str, dict[str, int]]:
        if query_set.name not in self.read:
            self.read[query_set.name] = self.store.qrels(query_set)
        return self.read[query_set.name]


def sets_table(store: Store | _Qrels, sets: list[QuerySet]) -> pd.DataFrame:
    rows = []
    for query_set in sets:
        qrels = store(query_set) if isinstance(store, _Qrels) else store.qrels(query_set)
        rows.append(
            {
                "name": query_set.name,
                "collection": query_set.collection,
                "queries": len(query_set.queries),
                "judged queries": sum(1 for grades in qrels.values() if grades),
                "judgments": sum(len(grades) for grades in qrels.values()),
                "document ids": query_set.id_property or UUID_IDS,
            }
        )
    return pd.DataFrame(rows, columns=["name", "collection", "queries", "judged queries", "judgments", "document ids"])


def render(store: Store, pg: Playground, key_prefix: str = "sets") -> None:
    feedback.show_flash("sets")
    names = collection_names(pg)
    all_sets, error = feedback.call_safely(store.query_sets, "listing query sets")
    if error:
        st.error(error)
        return
    sets = [s for s in all_sets or [] if names is None or s.collection in names]
    if names is None:
        st.caption("Not connected to a Weaviate: showing the query sets of every collection.")
    else:
        hidden = len(all_sets or []) - len(sets)
        st.caption(
            f"The query sets of this server's {len(names)} collection{'s' if len(names) != 1 else ''}"
            + (f" ({hidden} more belong to collections not on this server)." if hidden else ".")
        )
    if sets:
        qrels_of = _Qrels(store)
        table, error = feedback.call_safely(lambda: sets_table(qrels_of, sets), "query set table")
        if table is not None:
            st.dataframe(table, hide_index=True, key=f"{key_prefix}.table")
        elif error:
            st.error(error)
        one_set(store, sets, key_prefix, qrels_of)
    else:
        st.info("No query sets yet: create one below, import a file, or add a query from the Search page.")
    create_tab, import_tab = st.tabs(["Create a set", "Import a file"])
    with create_tab:
        create_form(store, names, all_sets or [], key_prefix)
    with import_tab:
        import_form(store, pg, names, all_sets or [], key_prefix)


# ---------------------------------------------------------------------------------------------- one set


def one_set(store: Store, sets: list[QuerySet], key_prefix: str, qrels_of: _Qrels | None = None) -> None:
    by_name = {s.name: s for s in sets}
    wanted = st.session_state.pop(f"{key_prefix}.choose_next", None)  # set by create/import/delete
    if wanted in by_name:
        st.session_state[f"{key_prefix}.chosen"] = wanted
    state.seed(f"{key_prefix}.chosen", sets[0].name, list(by_name))
    name = st.selectbox("Query set", list(by_name), key=f"{key_prefix}.chosen")
    query_set = by_name[name]
    qrels = qrels_of(query_set) if qrels_of is not None else store.qrels(query_set)
    with st.container(border=True):
        st.markdown(f"**{md_escape(query_set.name)}** · collection {md_escape(query_set.collection)}")
        queries = pd.DataFrame(
            [
                {"query id": q.query_id, "query": tables.snippet(q.text, 300),  # the whole text is in the exports
                 "judged documents": len(qrels.get(q.query_id, {}))}
                for q in query_set.queries
            ],
            columns=["query id", "query", "judged documents"],
        )
        st.dataframe(
            queries, hide_index=True, key=f"{key_prefix}.queries", height=min(400, 38 + 35 * max(len(queries), 1)),
            column_config={"query": st.column_config.TextColumn("query", width="large")},
        )
        export_buttons(query_set, qrels, key_prefix)
        delete_with_confirmation(store, query_set, key_prefix)


def _stem(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip()).strip("-")
    return safe.lower() or "query-set"


def export_buttons(query_set: QuerySet, qrels: dict[str, dict[str, int]], key_prefix: str) -> None:
    """Each file is made when its button is clicked (Streamlit's deferred download): made on every rerun, the
    four files of a set at the import limits took seconds of each rerun."""
    stem = _stem(query_set.name)
    files: list[tuple[str, Callable[[], str], str, str]] = [
        ("CSV", lambda: io.to_csv(query_set, qrels), f"{stem}.csv", "text/csv"),
        ("JSON", lambda: io.to_json(query_set, qrels), f"{stem}.json", "application/json"),
    ]
    problem = io.trec_problem(query_set, qrels)
    if problem is not None:
        st.caption(f"No TREC export: {safe.text(problem)}")
    else:
        files += [
            ("TREC topics", lambda: io.to_trec(query_set, qrels)[0], f"{stem}.topics.txt", "text/plain"),
            ("TREC qrels", lambda: io.to_trec(query_set, qrels)[1], f"{stem}.qrels.txt", "text/plain"),
        ]
    columns = st.columns(len(files))
    for column, (label, make, file_name, mime) in zip(columns, files, strict=True):
        column.download_button(
            f"Download {label}", lambda make=make: make().encode("utf-8"), file_name, mime,  # type: ignore[misc]
            key=f"{key_prefix}.dl.{label}", on_click="ignore", icon=":material/download:",
        )


def delete_with_confirmation(store: Store, query_set: QuerySet, key_prefix: str) -> None:
    asking = f"{key_prefix}.delete_asked"
    if st.session_state.get(asking) != query_set.name:
        if st.button("Delete this set…", key=f"{key_prefix}.delete", icon=":material/delete:"):
            st.session_state[asking] = query_set.name
            st.rerun()
        return
    st.warning(
        f"Delete the query set “{md_escape(query_set.name)}” ({len(query_set.queries)} queries)? The grades stay "
        "in the store (they belong to the collection's queries); only the set goes."
    )
    yes, no = st.columns(2)
    if yes.button("Yes, delete it", key=f"{key_prefix}.delete_yes", type="primary"):
        _, error = feedback.call_safely(lambda: store.delete_query_set(query_set.name), "deleting a query set")
        st.session_state.pop(asking, None)
        if error:
            feedback.flash(error, "error", channel="sets")
        else:
            feedback.flash(f"Deleted the query set “{md_escape(query_set.name)}”.", channel="sets")
        st.rerun()
    if no.button("Keep it", key=f"{key_prefix}.delete_no"):
        st.session_state.pop(asking, None)
        st.rerun()


# ---------------------------------------------------------------------------------------------- create


def _collection_picker(names: list[str] | None, key: str) -> str:
    if names:
        state.seed(key, state.inputs().collection or names[0], names)
        return str(st.selectbox("Collection", names, key=key))
    return st.text_input("Collection", key=key, max_chars=200).strip()


def create_form(store: Store, names: list[str] | None, existing: list[QuerySet], key_prefix: str) -> None:
    with st.form(f"{key_prefix}.create_form", border=False):
        name = st.text_input("Name", key=f"{key_prefix}.new_name", max_chars=100)
        collection = _collection_picker(names, f"{key_prefix}.new_collection")
        text = st.text_area(
            "Queries (one per line, optional)", key=f"{key_prefix}.new_queries", height=120,
            help="Queries get ids q1, q2, ... in this order. Add more later from the Search page.",
        )
        submitted = st.form_submit_button("Create set", type="primary")
    if not submitted:
        return
    lines = [line.strip() for line in text.splitlines() if line.strip()]

    def create() -> QuerySet:
        if not name.strip():
            raise InvalidInput("Give the set a name.")
        if not collection:
            raise InvalidInput("Choose the collection the set belongs to.")
        if name.strip() in {s.name for s in existing}:
            raise InvalidInput(
                f"A query set named “{name.strip()}” already exists.", hint="Choose another name, or delete it first."
            )
        unique = list(dict.fromkeys(lines))
        query_set = QuerySet(
            name.strip(), collection, tuple(SetQuery(f"q{i}", q) for i, q in enumerate(unique, start=1)), None
        )
        store.save_query_set(query_set)
        return query_set

    created, error = feedback.call_safely(create, "creating a query set")
    if error:
        st.error(error)
        return
    assert created is not None
    feedback.flash(f"Created “{md_escape(created.name)}” with {len(created.queries)} queries.", channel="sets")
    st.session_state[f"{key_prefix}.choose_next"] = created.name
    st.rerun()


# ---------------------------------------------------------------------------------------------- import


def _read(upload: Any, label: str) -> str:
    return files.decode(upload.getvalue(), label)  # size, encoding, control characters: as every importer


def import_form(
    store: Store, pg: Playground, names: list[str] | None, existing: list[QuerySet], key_prefix: str
) -> None:
    kind = st.radio(
        "Format", list(FORMATS), format_func=FORMATS.__getitem__, horizontal=True, key=f"{key_prefix}.format"
    )
    if kind == "trec":
        left, right = st.columns(2)
        topics = left.file_uploader("Topics file", key=f"{key_prefix}.topics", max_upload_size=MAX_UPLOAD_MB)
        qrels = right.file_uploader("Qrels file", key=f"{key_prefix}.qrels", max_upload_size=MAX_UPLOAD_MB)
        uploads = [topics, qrels]
    else:
        uploads = [st.file_uploader(f"{kind.upper()} file", type=[kind], key=f"{key_prefix}.file",
                                    max_upload_size=MAX_UPLOAD_MB)]
    name = st.text_input(
        "Name of the set", key=f"{key_prefix}.import_name", max_chars=100,
        help="A JSON export names its own set: leave this empty to use that name.",
    )
    collection = _collection_picker(names, f"{key_prefix}.import_collection")
    id_choices = [UUID_IDS]
    if pg.connected and collection and names and collection in names:
        info, _ = feedback.call_safely(lambda: pg.collection(collection), "collection properties")
        if info is not None:
            id_choices += list(info.text_properties)
    id_choice = st.selectbox(
        "Document ids in the file are", id_choices, key=f"{key_prefix}.id_property",
        help="Weaviate uuids, or the values of a property (e.g. the demo's article_id).",
    )
    replace = st.checkbox("Replace a set of the same name", key=f"{key_prefix}.replace")
    if not st.button("Import", key=f"{key_prefix}.import", type="primary"):
        return
    if any(upload is None for upload in uploads):
        st.error("Choose the file" + ("s (topics and qrels)" if kind == "trec" else "") + " to import first.")
        return

    def run_import() -> QuerySet:
        if kind == "csv":
            parsed = io.parse_csv(_read(uploads[0], "The file"))
        elif kind == "json":
            parsed = io.parse_json(_read(uploads[0], "The file"))
        else:
            parsed = io.parse_trec(_read(uploads[0], "The topics file"), _read(uploads[1], "The qrels file"))
        set_name = name.strip() or (parsed.name or "").strip()
        if not set_name:
            raise InvalidInput("Give the set a name.")
        target = collection or (parsed.collection or "")
        if not target:
            raise InvalidInput("Choose the collection the set belongs to.")
        if parsed.collection and parsed.collection != target:
            raise InvalidInput(
                f"The file is for collection “{parsed.collection}”, not “{target}”. Nothing was imported.",
                hint=f"Choose {parsed.collection} above, or fix the file.",
            )
        if not replace and set_name in {s.name for s in existing}:
            raise InvalidInput(
                f"A query set named “{set_name}” already exists.",
                hint="Tick “Replace a set of the same name”, or choose another name.",
            )
        id_property = None if id_choice == UUID_IDS else str(id_choice)
        return io.import_judgments(store, target, set_name, parsed, id_property=id_property)

    imported, error = feedback.call_safely(run_import, "importing a query set")
    if error:
        st.error(f"Nothing was imported. {error}" if "Nothing was imported" not in error else error)
        return
    assert imported is not None
    feedback.flash(
        f"Imported “{md_escape(imported.name)}”: {len(imported.queries)} queries into "
        f"{md_escape(imported.collection)}.",
        channel="sets",
    )
    st.session_state[f"{key_prefix}.choose_next"] = imported.name
    st.rerun()
