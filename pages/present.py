"""Present: step through a story of saved views in large type, with the arrow keys (or a clicker)."""

from __future__ import annotations

from components import feedback, present_view, url_state


def body() -> None:
    url_state.consume_autorun()
    present_view.render()


feedback.guarded(body, "present page")
