"""What the user is told: messages kept across a rerun, and the page guard (no traceback ever reaches a page).

Session state: ``_flash.<channel>`` a ``(kind, message)`` to show once after an ``st.rerun()``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Literal, TypeVar

import streamlit as st

from components import safe
from components.app_shell import ensure_app_shell
from components.config import secrets_of, server_jina_key, server_weaviate_key
from rerank_playground.errors import PlaygroundError, scrub

log = logging.getLogger("rerank_playground.app")

GENERIC_ERROR = (
    "Something unexpected went wrong on this page. Your inputs are kept: try again, or reload the page. "
    "The details are in the server log."
)
FlashKind = Literal["success", "error", "warning", "info"]
T = TypeVar("T")


def flash(message: str, kind: FlashKind = "success", channel: str = "page") -> None:
    """Keep a message to show once, on the next run, where ``show_flash(channel)`` is called."""
    st.session_state[f"_flash.{channel}"] = (kind, message)


def show_flash(channel: str = "page") -> None:
    item = st.session_state.pop(f"_flash.{channel}", None)
    if item:
        kind, message = item
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(message)


def log_unexpected(exc: BaseException, where: str) -> None:
    """Log an unexpected error with its stack, keys scrubbed (never shown to the user)."""
    pg = st.session_state.get("_pg")
    keys = secrets_of(pg) if pg is not None else (server_jina_key(), server_weaviate_key())
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.error("Unexpected error in %s: %s", where, scrub(text, *keys))


def guarded(body: Callable[[], None], where: str) -> None:
    """Run a page body: a PlaygroundError becomes an inline message, anything else a generic one."""
    ensure_app_shell()
    try:
        body()
    except PlaygroundError as err:
        st.error(safe.text(err))  # errors quote files, links and servers' answers
    except Exception as exc:  # noqa: BLE001 - the user never sees a traceback
        log_unexpected(exc, where)
        st.error(GENERIC_ERROR)


def call_safely(action: Callable[[], T], where: str) -> tuple[T | None, str | None]:
    """``(result, None)`` or ``(None, message)``: for callbacks, where exceptions must not escape. The message is
    ready for ``st.error`` and friends: Markdown-escaped (errors quote files, links and servers' answers)."""
    try:
        return action(), None
    except PlaygroundError as err:
        return None, safe.text(err)
    except Exception as exc:  # noqa: BLE001
        log_unexpected(exc, where)
        return None, GENERIC_ERROR
