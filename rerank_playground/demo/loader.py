"""Load the demo collections into a Weaviate: create, fill and check them, or skip the ones already complete.

Vectors are computed here with the bundled WordLlama model and sent with the objects ("bring your own
vectors"); the server has no vectorizer for these collections.

Safety: :func:`load_demo` only ever creates, fills, reconfigures or deletes a collection that carries
:data:`~rerank_playground.demo.datasets.DEMO_MARKER`; a same-named collection without it is refused untouched
(:class:`DemoCollectionConflict`).

Idempotence: a collection that already holds the expected data (same fingerprint, same count) is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rerank_playground.demo.datasets import (
    DEMO_COLLECTION_NAMES,
    DEMO_COLLECTIONS,
    DemoCollectionSpec,
    demo_description,
    demo_objects,
    get_spec,
    is_demo_description,
)
from rerank_playground.errors import CatalogError, PlaygroundError
from rerank_playground.rerankers import model_catalog

if TYPE_CHECKING:  # pragma: no cover
    import weaviate

JINA_RERANKER_MODULE = model_catalog.JINA_RERANKER_MODULE
DEFAULT_JINA_MODEL = model_catalog.WEAVIATE_DEFAULT_MODEL
_INSERT_CHUNK = 500

ProgressFn = Callable[[str, int, int], None]


class DemoCollectionConflict(CatalogError):
    """A collection with a demo name exists but was not created by the demo: it is left untouched."""


class DemoLoadError(PlaygroundError):
    """The demo import did not complete (failed objects, or the count does not match what was sent)."""


# -------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class DemoLoadReport:
    collection: str
    count: int
    action: str  # "skipped" (already complete) | "created" | "recreated"
    seconds: float
    reranker: str | None  # e.g. "reranker-jinaai (jina-reranker-v2-base-multilingual)", None if not configured
    notes: tuple[str, ...] = ()


def server_has_jina_reranker(client: weaviate.WeaviateClient) -> bool:
    try:
        modules = client.get_meta().get("modules") or {}
    except Exception:  # noqa: BLE001 - meta is best effort; without it we simply do not configure
        return False
    return JINA_RERANKER_MODULE in modules


def _properties(spec: DemoCollectionSpec) -> list[Any]:
    from weaviate.classes.config import DataType, Property, Tokenization

    out = []
    for prop in spec.properties:
        if prop.data_type == "int":
            out.append(Property(name=prop.name, data_type=DataType.INT, description=prop.description))
        else:
            out.append(
                Property(
                    name=prop.name,
                    data_type=DataType.TEXT,
                    description=prop.description,
                    tokenization=Tokenization.WORD,
                    skip_vectorization=True,
                    # BM25 searches only the rerank property: the metadata copies would count its words twice
                    index_searchable=prop.searchable,
                )
            )
    return out


def _existing_state(client: weaviate.WeaviateClient, name: str) -> tuple[bool, str | None, int, bool]:
    """(exists, description, count, has_reranker)."""
    if not client.collections.exists(name):
        return False, None, 0, False
    collection = client.collections.get(name)
    config = collection.config.get()
    count = collection.aggregate.over_all(total_count=True).total_count or 0
    return True, config.description, int(count), config.reranker_config is not None


def check_not_foreign(client: weaviate.WeaviateClient, name: str) -> None:
    """Raise :class:`DemoCollectionConflict` if ``name`` exists and is not one of ours."""
    if client.collections.exists(name):
        description = client.collections.get(name).config.get().description
        if not is_demo_description(description):
            raise DemoCollectionConflict(
                f"A collection named '{name}' already exists and was not created by the demo; it was left untouched.",
                hint="Rename or delete it yourself, or point the demo at another Weaviate.",
            )


def load_collection(
    client: weaviate.WeaviateClient,
    name: str,
    *,
    configure_reranker: bool,
    progress: ProgressFn | None = None,
) -> DemoLoadReport:
    from weaviate.classes.config import Configure, Reconfigure
    from weaviate.classes.data import DataObject

    from rerank_playground.embedders import get_local_embedder

    start = time.perf_counter()
    spec = get_spec(name)
    objects = demo_objects(name)
    description = demo_description(name)
    reranker_label = f"{JINA_RERANKER_MODULE} ({DEFAULT_JINA_MODEL})"

    check_not_foreign(client, name)
    exists, old_description, count, has_reranker = _existing_state(client, name)
    if exists and old_description == description and count == len(objects):
        notes: tuple[str, ...] = ()
        if configure_reranker and not has_reranker:
            client.collections.get(name).config.update(
                reranker_config=Reconfigure.Reranker.jinaai(model=DEFAULT_JINA_MODEL)
            )
            has_reranker = True
            notes = ("server-side Jina reranker configured",)
        if progress:
            progress(name, count, count)
        reranker = None
        if has_reranker:
            reranker = _reranker_label(client, name) or reranker_label
        return DemoLoadReport(name, count, "skipped", time.perf_counter() - start, reranker, notes)

    action = "recreated" if exists else "created"
    if exists:  # ours, but incomplete or from other data: start over (UUIDs are stable anyway)
        client.collections.delete(name)
    collection = client.collections.create(
        name,
        description=description,
        properties=_properties(spec),
        vector_config=Configure.Vectors.self_provided(),
        reranker_config=Configure.Reranker.jinaai(model=DEFAULT_JINA_MODEL) if configure_reranker else None,
    )

    embedder = get_local_embedder()
    total = len(objects)
    if progress:
        progress(name, 0, total)
    sent = 0
    failures: list[str] = []
    for offset in range(0, total, _INSERT_CHUNK):
        chunk = objects[offset : offset + _INSERT_CHUNK]
        vectors = embedder.embed([o.text for o in chunk])
        result = collection.data.insert_many(
            [DataObject(properties=o.properties, uuid=o.uuid, vector=vectors[i].tolist()) for i, o in enumerate(chunk)]
        )
        if result.has_errors:
            failures.extend(str(err.message) for err in list(result.errors.values())[:3])
        sent += len(chunk)
        if progress:
            progress(name, sent, total)
    if failures:
        raise DemoLoadError(
            f"Importing '{name}' failed for some objects: {'; '.join(failures)}",
            hint="Run the demo loader again; it resumes safely.",
        )
    stored = collection.aggregate.over_all(total_count=True).total_count or 0
    if stored != total:
        raise DemoLoadError(
            f"'{name}' holds {stored} objects after the import, but {total} were sent.",
            hint="Run the demo loader again; it resumes safely.",
        )
    return DemoLoadReport(
        name,
        stored,
        action,
        time.perf_counter() - start,
        reranker_label if configure_reranker else None,
    )


def _reranker_label(client: weaviate.WeaviateClient, name: str) -> str | None:
    config = client.collections.get(name).config.get().reranker_config
    if config is None:
        return None
    reranker = getattr(config, "reranker", None)
    module = str(getattr(reranker, "value", reranker) or JINA_RERANKER_MODULE)
    model = (getattr(config, "model", None) or {}).get("model") or DEFAULT_JINA_MODEL
    return f"{module} ({model})"


def load_demo(
    client: weaviate.WeaviateClient,
    *,
    jina_key_present: bool = False,
    progress: ProgressFn | None = None,
    collections: Sequence[str] = DEMO_COLLECTION_NAMES,
) -> list[DemoLoadReport]:
    """Create and fill the demo collections; skip the ones already complete. Safe to run again.

    The server-side ``reranker-jinaai`` module is configured whenever the server has it, key or not:
    configuration costs nothing until a query uses it, and a key pasted later in the app then just works.
    ``jina_key_present`` only changes the notes of the report.
    All names are checked for foreign collections before anything is written.
    """
    from weaviate.exceptions import WeaviateBaseError

    try:
        for name in collections:
            get_spec(name)
            check_not_foreign(client, name)
        configure = server_has_jina_reranker(client)
        raw = [load_collection(client, name, configure_reranker=configure, progress=progress) for name in collections]
    except WeaviateBaseError as exc:
        raise DemoLoadError(
            f"Weaviate refused the demo import: {type(exc).__name__}: {str(exc)[:300]}",
            hint="Check that the server is up (`weaviate-local status`) and run the loader again.",
        ) from exc
    reports: list[DemoLoadReport] = []
    for report in raw:
        notes = list(report.notes)
        if not configure:
            notes.append(f"this Weaviate has no {JINA_RERANKER_MODULE} module: server-side reranking is off")
        elif not jina_key_present:
            notes.append("server-side Jina reranking needs a Jina key (JINAAI_APIKEY or the app's key field)")
        reports.append(
            DemoLoadReport(
                report.collection, report.count, report.action, report.seconds, report.reranker, tuple(notes)
            )
        )
    return reports


def demo_status(client: weaviate.WeaviateClient) -> dict[str, str]:
    """Per demo name: "missing" | "ready" | "incomplete" | "foreign". Reads only."""
    status: dict[str, str] = {}
    for spec in DEMO_COLLECTIONS:
        exists, description, count, _ = _existing_state(client, spec.name)
        if not exists:
            status[spec.name] = "missing"
        elif not is_demo_description(description):
            status[spec.name] = "foreign"
        elif description == demo_description(spec.name) and count == len(demo_objects(spec.name)):
            status[spec.name] = "ready"
        else:
            status[spec.name] = "incomplete"
    return status


# ------------------------------------------------------------------------------------------------ stability

# Why fresh demo data answers differently a minute later (weaviate v1.38.11, adapters/repos/db/lsmkv): an import
# lands in each bucket's in-memory memtable; a memtable is written to a disk segment once it has been dirty for
# PERSISTENCE_MEMTABLES_FLUSH_DIRTY_AFTER_SECONDS (default 60, checked by the flush cycle every few seconds), and
# BM25 then takes its statistics from the segment: the average property length is re-summed through an integer
# (``uint64(avg * count)`` in Bucket.GetAveragePropertyLength / SegmentGroup) and term frequencies come from the
# segment's block-max encoding instead of the memtable. Keyword and hybrid scores move once, 60-90 s after the
# last write. The server offers no call to flush (only backups and shutdown flush memtables), so "ready" waits for
# that cause: answers unchanged since the flush must have happened, with a deadline.
FLUSH_DIRTY_AFTER_S = 60.0
FLUSH_CYCLE_MARGIN_S = 20.0  # the flush cycle's own interval and the flush itself
STABLE_TIMEOUT_S = 240.0
STABILITY_PROBE = {  # one query per demo collection; each is searched in every mode
    "DemoWiki": "how did writing begin",
    "DemoJeopardy": "Who discovered the first vaccine?",
}
STABILITY_DEPTH = 20


class DemoNotStable(DemoLoadError):
    """Identical searches on the demo collections still answer differently after the deadline."""


def search_snapshot(client: weaviate.WeaviateClient, name: str) -> dict[str, tuple[tuple[str, float], ...]]:
    """mode -> the top :data:`STABILITY_DEPTH` (uuid, score) of the collection's probe query in that mode."""
    from rerank_playground.embedders import get_local_embedder
    from rerank_playground.models import SearchMode, SearchRequest
    from rerank_playground.schema import describe_collection
    from rerank_playground.search import search

    spec = get_spec(name)
    info = describe_collection(client, name)
    embedder = get_local_embedder()
    out: dict[str, tuple[tuple[str, float], ...]] = {}
    for mode in (SearchMode.VECTOR, SearchMode.KEYWORD, SearchMode.HYBRID):
        request = SearchRequest(name, STABILITY_PROBE[name], mode=mode, limit=STABILITY_DEPTH,
                                properties=spec.keyword_properties, text_property=spec.rerank_property,
                                embedder="local")
        hits = search(client, request, info, embedder=embedder).hits
        out[mode.value] = tuple((h.uuid, float(h.score if h.score is not None else -(h.distance or 0.0)))
                                for h in hits)
    return out


def wait_until_stable(
    client: weaviate.WeaviateClient,
    reports: Sequence[DemoLoadReport],
    *,
    written_at: float | None = None,
    timeout: float = STABLE_TIMEOUT_S,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
    snapshot: Callable[[weaviate.WeaviateClient, str], dict[str, Any]] | None = None,
) -> float:
    """Return once two identical searches in each mode (vector, keyword, hybrid) answer the same on every loaded
    demo collection, and — when this run wrote data (``written_at``, a ``clock()`` time) — the memtable flush
    that moves BM25 scores has had time to happen (see the comment above). Returns the seconds waited; raises
    :class:`DemoNotStable` with what still differs after ``timeout``. ``snapshot`` defaults to
    :func:`search_snapshot`."""
    start = clock()
    deadline = start + timeout
    wrote = any(r.action != "skipped" for r in reports)
    settle_at = (written_at if written_at is not None else start) + FLUSH_DIRTY_AFTER_S + FLUSH_CYCLE_MARGIN_S
    names = [r.collection for r in reports]
    take = snapshot or search_snapshot
    previous = {name: take(client, name) for name in names}
    told = False
    while True:
        sleep(interval)
        current = {name: take(client, name) for name in names}
        changed = [f"{name} {mode}" for name in names for mode in current[name]
                   if current[name][mode] != previous[name][mode]]
        now = clock()
        if not changed and (not wrote or now >= settle_at):
            return now - start
        if now >= deadline:
            what = ", ".join(changed) or "the flush of the fresh import"
            raise DemoNotStable(
                f"The demo collections did not settle within {timeout:.0f}s (still changing: {what}).",
                hint="The server may be busy; run the demo loader again, which waits again.",
            )
        if progress and wrote and not told:
            progress(f"waiting for Weaviate to flush the fresh import (about {max(0.0, settle_at - now):.0f}s): "
                     "BM25 scores change once when it does")
            told = True
        previous = current
