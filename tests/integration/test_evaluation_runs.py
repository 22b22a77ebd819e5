"""The runs tables (schema migration 2) on SQLite and PostgreSQL: save, replace, read back, list, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rerank_playground.errors import RunNotFound
from rerank_playground.evaluation import runs
from rerank_playground.store import open_store
from rerank_playground.store.runs import SCHEMA_VERSION


def record(run_id: str, started: datetime) -> runs.RunRecord:
    return runs.RunRecord(
        run_id=run_id, name=f"run {run_id} · «ünïcode»", collection="C", query_set="set", status="running",
        plan={"k": 10, "measures": ["nDCG@10"], "settings": [{"mode": "hybrid"}]},
        qrels={"q1": {"d1": 3, "d2": 0}}, app_version="0.1.0", server_version="1.38.11", object_count=42,
        started_at=started,
    )


def test_runs_round_trip_on_both_engines(store_url: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with open_store(store_url) as store:
        assert store.schema_version() >= SCHEMA_VERSION
        store.create_run(record("a", now - timedelta(hours=1)))
        store.create_run(record("b", now))
        assert [r.run_id for r in store.list_runs()] == ["b", "a"]  # newest first
        assert store.list_runs(collection="other") == []

        first = runs.QueryResult(setting=0, query_id="q1", query="Q one", ordering="no rerank", status="failed",
                                 error="HTTP 500", attempts=3)
        store.save_result("a", first)
        retried = runs.QueryResult(setting=0, query_id="q1", query="Q one", ordering="no rerank", status="done",
                                   ranking=(("d1", 0.9), ("d2", None)), metrics={"nDCG@10": 1.0}, latency_ms=12.5,
                                   tokens=None, api_calls=0, cached=False, attempts=1)
        store.save_result("a", retried)  # a retry replaces the failed row
        other = runs.QueryResult(setting=1, query_id="q1", query="Q one", ordering="m", status="done",
                                 ranking=(("d2", 0.5),), metrics={"nDCG@10": 0.0}, tokens=77, api_calls=1, cached=True)
        store.save_result("a", other)

        loaded = store.load_results("a")
        assert [r.key for r in loaded] == [(0, "q1", "no rerank"), (1, "q1", "m")]
        assert loaded[0].status == "done" and loaded[0].error is None
        assert loaded[0].ranking == (("d1", 0.9), ("d2", None))
        assert loaded[0].metrics == {"nDCG@10": 1.0} and loaded[0].latency_ms == 12.5
        assert (loaded[1].tokens, loaded[1].cached, loaded[1].api_calls) == (77, True, 1)
        assert loaded[0].finished_at.tzinfo is not None

        store.set_run_status("a", "finished", message="Finished.", ended=True)
        got = store.get_run("a")
        assert (got.status, got.message, got.object_count) == ("finished", "Finished.", 42)
        assert got.ended_at is not None and got.started_at == now - timedelta(hours=1)
        assert got.plan["settings"] == [{"mode": "hybrid"}] and got.qrels == {"q1": {"d1": 3, "d2": 0}}
        assert got.name == "run a · «ünïcode»"

        store.delete_run("a")
        assert store.load_results("a") == []
        with pytest.raises(RunNotFound, match="No saved run 'a'"):
            store.get_run("a")
        with pytest.raises(ValueError):
            store.set_run_status("b", "bogus")
