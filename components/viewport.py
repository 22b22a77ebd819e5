"""The browser window's size, for figures that are sized to the screen (the stage chart).

Plotly figures are laid out in pixels in Python, so the page needs the viewport's size before it builds them: a
tiny ``st.components.v2`` component reports ``window.innerWidth`` / ``innerHeight`` when it mounts and after a
resize, only when they differ from what the session already knows (so it never reruns the app for nothing).
The component draws nothing; its JavaScript is a static string of ours (never built from data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

STATE = "viewport.size"
DEFAULT = (1280, 720)  # until the browser has said (first run, AppTest): the smallest stage we design for

_JS = """
export default function(component) {
  const { data, setStateValue } = component;
  const known = data || {};
  let timer = null;
  const send = () => {
    // A full-page capture grows the window for a moment (screenshot tools set this flag while they do): that is
    // not a size to lay the page out for, and a rerun for it would race the user's next click.
    if (window.__rpHoldViewport) return;
    const size = { width: window.innerWidth, height: window.innerHeight };
    if (size.width !== known.width || size.height !== known.height) {
      known.width = size.width;
      known.height = size.height;
      setStateValue('size', size);
    }
  };
  send();
  const onResize = () => { clearTimeout(timer); timer = setTimeout(send, 200); };
  window.addEventListener('resize', onResize);
  return () => { clearTimeout(timer); window.removeEventListener('resize', onResize); };
}
"""

_component = st.components.v2.component("rerank_playground.viewport", js=_JS)


@dataclass(frozen=True)
class Viewport:
    width: int
    height: int
    measured: bool  # False: the browser has not said yet (DEFAULT is assumed)


def _remember() -> None:
    value: Any = st.session_state.get("viewport.component")
    size = value.get("size") if isinstance(value, Mapping) else getattr(value, "size", None)
    if isinstance(size, dict) and isinstance(size.get("width"), int) and isinstance(size.get("height"), int):
        st.session_state[STATE] = (max(320, size["width"]), max(240, size["height"]))


def viewport() -> Viewport:
    """This session's browser viewport (mounts the reporter; call once per run, before sizing a figure)."""
    known = st.session_state.get(STATE)
    data = {"width": known[0], "height": known[1]} if known else None
    # Drawn as nothing: a static style of ours hides the reporter's (empty) row.
    # Its key says whether the size is known (browser tests wait for "viewport-measured").
    st.html('<style>[class*="st-key-viewport-"] { display: none !important; }</style>')
    with st.container(key="viewport-measured" if known else "viewport-unknown"):
        _component(key="viewport.component", data=data, on_size_change=_remember)
    known = st.session_state.get(STATE)
    if known is None:
        return Viewport(DEFAULT[0], DEFAULT[1], measured=False)
    return Viewport(int(known[0]), int(known[1]), measured=True)


def known() -> Viewport:
    """The size :func:`viewport` last heard from the browser (DEFAULT until then), without mounting the
    reporter: for a fragment that draws a figure while the page mounts the reporter once per run."""
    size = st.session_state.get(STATE)
    if size is None:
        return Viewport(DEFAULT[0], DEFAULT[1], measured=False)
    return Viewport(int(size[0]), int(size[1]), measured=True)
