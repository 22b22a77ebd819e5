"""Query sets in the store: named, ordered lists of queries over one collection, and their qrels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from rerank_playground.errors import InvalidInput, QuerySetNotFound
from rerank_playground.evaluation.judgments import Judgment, QuerySet, SetQuery, normalise_query
from rerank_playground.store import tables
from rerank_playground.store.engine import Database
from rerank_playground.store.judgments import check_grade, check_text, judgment_row, upsert_judgments

_IN_CHUNK = 500  # bound parameters per IN (...) list


class QuerySets(Database):
    """Query sets, their qrels (read from the judgments) and their all-or-nothing import."""

    def save_query_set(self, query_set: QuerySet) -> None:
        """Create or replace (by name) a query set."""
        with self.write() as connection:
            self._save_query_set(connection, query_set)

    def _save_query_set(self, connection: sa.Connection, query_set: QuerySet) -> int:
        check_text("query set name", query_set.name)
        check_text("collection", query_set.collection)
        seen_ids: set[str] = set()
        seen_texts: dict[str, str] = {}
        for query in query_set.queries:
            check_text("query id", query.query_id)
            norm = normalise_query(check_text(f"text of query {query.query_id!r}", query.text))
            if query.query_id in seen_ids:
                raise InvalidInput(f"Query id {query.query_id!r} appears twice in {query_set.name!r}.")
            if norm in seen_texts:
                raise InvalidInput(
                    f"Queries {seen_texts[norm]!r} and {query.query_id!r} of {query_set.name!r} are the same query."
                )
            seen_ids.add(query.query_id)
            seen_texts[norm] = query.query_id
        sets, set_queries = tables.query_sets, tables.set_queries
        insert = self.insert(sets)
        set_id = connection.execute(
            insert.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "collection": insert.excluded.collection,
                    "id_property": insert.excluded.id_property,
                    "updated_at": insert.excluded.updated_at,
                },
            ).returning(sets.c.id),
            {
                "name": query_set.name,
                "collection": query_set.collection,
                "id_property": query_set.id_property or None,
                "updated_at": datetime.now(UTC),
            },
        ).scalar_one()
        connection.execute(set_queries.delete().where(set_queries.c.set_id == set_id))
        if query_set.queries:
            connection.execute(
                set_queries.insert(),
                [
                    {
                        "set_id": set_id,
                        "query_id": query.query_id,
                        "position": position,
                        "text": query.text.strip(),
                        "query": normalise_query(query.text),
                    }
                    for position, query in enumerate(query_set.queries)
                ],
            )
        return int(set_id)

    def query_set(self, name: str) -> QuerySet:
        with self.read() as connection:
            found = self._load_sets(connection, tables.query_sets.c.name == name)
        if not found:
            raise QuerySetNotFound(name)
        return found[0]

    def query_sets(self, collection: str | None = None) -> list[QuerySet]:
        """All query sets (of one collection when given), by name."""
        condition = tables.query_sets.c.collection == collection if collection is not None else sa.true()
        with self.read() as connection:
            return self._load_sets(connection, condition)

    def _load_sets(self, connection: sa.Connection, condition: Any) -> list[QuerySet]:
        sets_table, set_queries = tables.query_sets, tables.set_queries
        sets = (
            connection.execute(sa.select(sets_table).where(condition).order_by(sets_table.c.name)).mappings().all()
        )
        if not sets:
            return []
        by_set: dict[int, list[SetQuery]] = {row["id"]: [] for row in sets}
        rows = connection.execute(
            sa.select(set_queries.c.set_id, set_queries.c.query_id, set_queries.c.text)
            .where(set_queries.c.set_id.in_(list(by_set)))
            .order_by(set_queries.c.set_id, set_queries.c.position)
        ).all()
        for set_id, query_id, text in rows:
            by_set[set_id].append(SetQuery(query_id=query_id, text=text))
        return [
            QuerySet(
                name=row["name"],
                collection=row["collection"],
                queries=tuple(by_set[row["id"]]),
                id_property=row["id_property"],
            )
            for row in sets
        ]

    def add_query(self, set_name: str, text: str) -> SetQuery:
        """Append a query to a set (the existing one when the set already has that query)."""
        sets, set_queries = tables.query_sets, tables.set_queries
        norm = normalise_query(check_text("query", text))
        with self.write() as connection:
            set_id = connection.execute(
                sa.select(sets.c.id).where(sets.c.name == set_name).with_for_update()
            ).scalar()
            if set_id is None:
                raise QuerySetNotFound(set_name)
            rows = connection.execute(
                sa.select(set_queries.c.query_id, set_queries.c.text, set_queries.c.query).where(
                    set_queries.c.set_id == set_id
                )
            ).all()
            for query_id, existing_text, existing_norm in rows:
                if existing_norm == norm:
                    return SetQuery(query_id=query_id, text=existing_text)
            taken = {query_id for query_id, _, _ in rows}
            number = len(rows) + 1
            while f"q{number}" in taken:
                number += 1
            query = SetQuery(query_id=f"q{number}", text=text.strip())
            connection.execute(
                set_queries.insert().values(
                    set_id=set_id, query_id=query.query_id, position=len(rows), text=query.text, query=norm
                )
            )
            connection.execute(sets.update().where(sets.c.id == set_id).values(updated_at=datetime.now(UTC)))
        return query

    def delete_query_set(self, name: str) -> None:
        """Delete a set (its judgments stay: they belong to the collection's queries, not to the set)."""
        sets, set_queries = tables.query_sets, tables.set_queries
        with self.write() as connection:
            set_id = connection.execute(sa.select(sets.c.id).where(sets.c.name == name)).scalar()
            if set_id is None:
                raise QuerySetNotFound(name)
            connection.execute(set_queries.delete().where(set_queries.c.set_id == set_id))
            connection.execute(sets.delete().where(sets.c.id == set_id))

    def qrels(self, query_set: QuerySet) -> dict[str, dict[str, int]]:
        """query_id -> doc_id -> grade, from the judgments of the set's collection (and id space) and queries.

        Every query of the set has an entry, empty when it has no judgment yet.
        """
        ids_by_query: dict[str, list[str]] = {}
        for query in query_set.queries:
            ids_by_query.setdefault(normalise_query(query.text), []).append(query.query_id)
        result: dict[str, dict[str, int]] = {query.query_id: {} for query in query_set.queries}
        table = tables.judgments
        texts = list(ids_by_query)
        with self.read() as connection:
            for start in range(0, len(texts), _IN_CHUNK):
                rows = connection.execute(
                    sa.select(table.c.query, table.c.doc_id, table.c.grade).where(
                        table.c.collection == query_set.collection,
                        table.c.id_property == (query_set.id_property or ""),
                        table.c.query.in_(texts[start : start + _IN_CHUNK]),
                    )
                ).all()
                for query_text, doc_id, grade in rows:
                    for query_id in ids_by_query[query_text]:
                        result[query_id][doc_id] = int(grade)
        return result

    def import_query_set(
        self,
        query_set: QuerySet,
        grades: Iterable[tuple[str, str, int]],
        *,
        judge: str | None = None,
        keep_person_grades: bool = False,
    ) -> None:
        """Save ``query_set`` and its ``(query text, doc_id, grade)`` judgments in ONE transaction: all or nothing.

        ``keep_person_grades`` leaves grades a person gave untouched (the demo loader, run again).
        """
        now = datetime.now(UTC)
        rows = [
            judgment_row(
                Judgment(
                    collection=query_set.collection,
                    query=normalise_query(check_text("query", text)),
                    doc_id=check_text("document id", doc_id),
                    grade=check_grade(grade),
                    judge=(judge or "").strip() or None,
                    source="imported",
                    judged_at=now,
                ),
                query_set.id_property,
            )
            for text, doc_id, grade in grades
        ]
        with self.write() as connection:
            self._save_query_set(connection, query_set)
            for start in range(0, len(rows), _IN_CHUNK):
                connection.execute(
                    upsert_judgments(self, keep_person_grades=keep_person_grades), rows[start : start + _IN_CHUNK]
                )
