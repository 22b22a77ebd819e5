"""Ready means stable: the wait after a demo import, with a scripted clock and scripted answers (the real server's
behaviour is in tests/integration/test_demo.py)."""

from __future__ import annotations

from typing import Any

import pytest

from rerank_playground.demo.loader import (
    FLUSH_CYCLE_MARGIN_S,
    FLUSH_DIRTY_AFTER_S,
    DemoLoadReport,
    DemoNotStable,
    wait_until_stable,
)


class Script:
    """A clock that moves only when slept on, and answers that change at given times."""

    def __init__(self, changes_at: tuple[float, ...] = ()) -> None:
        self.now = 0.0
        self.changes_at = changes_at
        self.calls = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def snapshot(self, client: Any, name: str) -> dict[str, Any]:
        self.calls += 1
        version = sum(self.now >= t for t in self.changes_at)
        return {"keyword": ((name, float(version)),), "vector": (), "hybrid": ()}


def report(action: str) -> DemoLoadReport:
    return DemoLoadReport("DemoWiki", 10, action, 1.0, None)


def test_a_fresh_import_waits_for_the_flush_and_then_for_identical_answers() -> None:
    script = Script(changes_at=(65.0,))  # BM25 scores move once when the memtable is flushed
    waited = wait_until_stable(None, [report("created")], written_at=0.0, clock=script.clock, sleep=script.sleep,
                               snapshot=script.snapshot)  # type: ignore[arg-type]
    assert waited >= FLUSH_DIRTY_AFTER_S + FLUSH_CYCLE_MARGIN_S


def test_data_already_there_is_ready_after_two_identical_rounds() -> None:
    script = Script()
    waited = wait_until_stable(None, [report("skipped")], clock=script.clock, sleep=script.sleep,
                               snapshot=script.snapshot, interval=2.0)  # type: ignore[arg-type]
    assert waited == 2.0 and script.calls == 2


def test_answers_that_keep_changing_fail_with_a_clear_message_at_the_deadline() -> None:
    script = Script(changes_at=tuple(float(t) for t in range(1, 1000)))
    with pytest.raises(DemoNotStable) as err:
        wait_until_stable(None, [report("skipped")], clock=script.clock, sleep=script.sleep,
                          snapshot=script.snapshot, timeout=30.0)  # type: ignore[arg-type]
    assert "did not settle within 30s" in err.value.message and "DemoWiki keyword" in err.value.message
