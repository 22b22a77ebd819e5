"""The one place that touches Streamlit internals: app.py's navigation also on a server's very first request.

Why this exists: because this project keeps its pages in a ``pages/`` folder, Streamlit starts every server in
its legacy multipage mode (``PagesManager.uses_pages_directory``, a private, process-wide flag, set when the
first session's pages manager sees a ``pages/`` folder beside app.py). In that mode the first request names
the page file to run: a shared ``/compare?...`` link opened first after a start runs ``pages/compare.py``
alone, without app.py's navigation, sidebar and layout, until someone loads ``/``. ``st.navigation`` leaves
that mode (it clears the flag), but only once app.py has run. Streamlit has no public setting for this (its
``pages/`` auto-discovery cannot be turned off while the folder exists, and ``st.navigation`` does not take
over a run that has already started in legacy mode), so the page guard leaves the mode itself and reruns
once: the rerun runs app.py, which routes to the same page with the same query parameters.

``tests/app/test_app_shell.py`` checks the Streamlit behaviour this relies on, and
``tests/browser/test_app_shell.py`` a real first deep link after a server start, so an upgrade that changes
either fails loudly.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

SHELL_CHECKED = "_shell_checked"


def in_legacy_pages_mode() -> bool:
    """Whether Streamlit would run the requested page file alone (not through app.py)."""
    return bool(PagesManager.uses_pages_directory)


def leave_legacy_pages_mode() -> None:
    PagesManager.uses_pages_directory = False


def ensure_app_shell() -> None:
    """Run pages inside app.py's ``st.navigation``, also on a server's very first request (see the module)."""
    # Only on a session's first run: a rerun later would swallow the click that triggered that run.
    if st.session_state.get(SHELL_CHECKED):
        return
    st.session_state[SHELL_CHECKED] = True
    if in_legacy_pages_mode():
        leave_legacy_pages_mode()
        st.rerun()
