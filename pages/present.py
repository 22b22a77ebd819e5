"""Present: step through a story of saved views in large type, with the arrow keys (or a clicker)."""

from __future__ import annotations

from components import present_view, session


def body() -> None:
    session.consume_autorun()
    present_view.render()


session.guarded(body, "present page")
