"""Judgments in the store: one grade per (collection, id space, normalised query, document); the last write wins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from rerank_playground.errors import InvalidInput
from rerank_playground.evaluation.judgments import SOURCES, Judgment, normalise_query
from rerank_playground.models import GRADES
from rerank_playground.store import tables
from rerank_playground.store.engine import Database, utc


def check_grade(grade: int) -> int:
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise InvalidInput(f"A grade is 0, 1, 2 or 3 (got {grade!r}).", hint="0 not relevant ... 3 perfect.")
    return grade


def check_text(label: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"The {label} is empty.")
    return value


def judgment_row(judgment: Judgment, id_property: str | None) -> dict[str, Any]:
    return {
        "collection": judgment.collection,
        "id_property": id_property or "",
        "query": judgment.query,
        "doc_id": judgment.doc_id,
        "grade": judgment.grade,
        "judge": judgment.judge,
        "source": judgment.source,
        "judged_at": judgment.judged_at,
    }


def upsert_judgments(database: Database, *, keep_person_grades: bool = False) -> Any:
    """The statement that writes judgment rows, each replacing the grade of its key (a person's, unless
    ``keep_person_grades``)."""
    table = tables.judgments
    insert = database.insert(table)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=["collection", "id_property", "query", "doc_id"],
        set_={
            "grade": excluded.grade,
            "judge": excluded.judge,
            "source": excluded.source,
            "judged_at": excluded.judged_at,
        },
        where=(table.c.source != "person") if keep_person_grades else None,
    )


class Judgments(Database):
    """The grades people gave (and files imported)."""

    def set_grade(
        self,
        collection: str,
        query: str,
        doc_id: str,
        grade: int,
        *,
        judge: str | None = None,
        source: str = "person",
        id_property: str | None = None,
    ) -> Judgment:
        """Record (or replace) the grade of ``doc_id`` for ``query``; the last write wins."""
        if source not in SOURCES:
            raise InvalidInput(f"A judgment's source is 'person' or 'imported' (got {source!r}).")
        judgment = Judgment(
            collection=check_text("collection", collection),
            query=normalise_query(check_text("query", query)),
            doc_id=check_text("document id", doc_id),
            grade=check_grade(grade),
            judge=(judge or "").strip() or None,
            source=source,
            judged_at=datetime.now(UTC),
        )
        with self.write() as connection:
            connection.execute(upsert_judgments(self), [judgment_row(judgment, id_property)])
        return judgment

    def clear_grade(self, collection: str, query: str, doc_id: str, *, id_property: str | None = None) -> None:
        table = tables.judgments
        with self.write() as connection:
            connection.execute(
                table.delete().where(
                    table.c.collection == collection,
                    table.c.id_property == (id_property or ""),
                    table.c.query == normalise_query(query),
                    table.c.doc_id == doc_id,
                )
            )

    def grades(self, collection: str, query: str, *, id_property: str | None = None) -> dict[str, int]:
        """doc_id -> grade for one query."""
        return {j.doc_id: j.grade for j in self.judgments(collection, query, id_property=id_property)}

    def judgments(self, collection: str, query: str | None = None, *, id_property: str | None = None) -> list[Judgment]:
        """The judgments of a collection (of one query when given), oldest first."""
        table = tables.judgments
        statement = sa.select(table).where(table.c.collection == collection, table.c.id_property == (id_property or ""))
        if query is not None:
            statement = statement.where(table.c.query == normalise_query(query))
        statement = statement.order_by(table.c.judged_at, table.c.query, table.c.doc_id)
        with self.read() as connection:
            rows = connection.execute(statement).mappings().all()
        return [
            Judgment(
                collection=row["collection"],
                query=row["query"],
                doc_id=row["doc_id"],
                grade=int(row["grade"]),
                judge=row["judge"],
                source=row["source"],
                judged_at=utc(row["judged_at"]),
            )
            for row in rows
        ]
