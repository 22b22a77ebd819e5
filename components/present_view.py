"""The Present page: manage stories, and present one view at a time in large type, stepping by keyboard.

Session state (``present.*``): ``story`` (the chosen story's name), ``on`` (presenting), ``index`` (the view
shown), ``settings`` (the settings panel open), ``prefetch`` (prepare the next view ahead), ``blind`` (the A/B
pair per view), ``picked`` (the pick per view, once made), ``views_page`` (story name -> the page of its views
list shown). Results are kept per view by the session's :class:`Presenter`, which prepares the next view in a
background thread: its state is shown as it is.
"""

from __future__ import annotations

import html
import math
import random
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from components import feedback, lifecycle, safe, state, store_access, viewport
from components.safe import md_escape
from components.view_actions import versions
from rerank_playground import codegen, tables
from rerank_playground.demo.datasets import DEMO_COLLECTIONS
from rerank_playground.errors import PlaygroundError
from rerank_playground.evaluation import files
from rerank_playground.judging import RETRIEVAL, orderings
from rerank_playground.models import SearchResult
from rerank_playground.outcomes import RerankRun
from rerank_playground.playground import Playground
from rerank_playground.presentation import stories
from rerank_playground.presentation.presenter import Headline, PreparedView, Presenter, headline, prefetch_order
from rerank_playground.presentation.snapshot import snapshot_html
from rerank_playground.presentation.stories import BlindPair, Story, StoryView
from rerank_playground.search import needs_query_vector
from rerank_playground.stage_chart import stage_chart, stage_font_px
from rerank_playground.store import Store

STYLESHEET = Path(__file__).with_name("present.css")
STATE = "present"
PLOTLY_CONFIG = {"displaylogo": False, "displayModeBar": False}
# Rows of the story's views list drawn per rerun: each row is four buttons, a text and a note editor, so a
# 100-view story drawn whole would rebuild hundreds of widgets on every click.
VIEWS_PER_PAGE = 20


def _key(name: str) -> str:
    return f"{STATE}.{name}"


def presenter(pg: Playground) -> Presenter:
    """This session's presenter, bound to its Playground (a new connection gets a new one)."""
    current: Presenter | None = st.session_state.get(_key("presenter"))
    if current is None or current.pg is not pg:
        if current is not None:
            current.close()
        store = store_access.get_store()
        current = Presenter(pg, grades_for=(lambda view: _grades(store, view)) if store is not None else None)
        st.session_state[_key("presenter")] = current
        lifecycle.release_at_end(_key("presenter"), current.close)
    return current


def _store() -> Store | None:
    store = store_access.get_store()
    if store is None:
        store_access.unavailable_note("Stories")
    return store


# ---------------------------------------------------------------------------------------------- manage


def _load(store: Store, name: str) -> Story | None:
    try:
        return store.load_story(name)
    except PlaygroundError as err:
        st.warning(safe.text(err.message))
        return None


def _save(store: Store, story: Story, message: str) -> None:
    try:
        store.save_story(story)
    except PlaygroundError as err:
        feedback.flash(safe.text(err), "error", "present")
        return
    feedback.flash(message, "success", "present")


def _view_label(view: StoryView) -> str:
    models = ", ".join(c.label for c in view.choices)
    return f"{view.heading} — {view.request.collection}, {view.request.mode.value}, {models}"


def manage(pg: Playground, store: Store) -> None:
    viewport.viewport()  # known before Present is pressed, so the first view is drawn to the screen's size
    st.title("Present")
    st.caption("Stories are ordered saved views. Add views from the Search or Compare page (“Add to story”), "
               "then present them here: → / ← (or a clicker's PageDown / PageUp) step through.")
    feedback.show_flash("present")
    try:
        names = store.story_names()
    except PlaygroundError as err:
        st.warning(safe.text(err))
        return
    top = st.columns([3, 1.2, 1.6], vertical_alignment="bottom")
    story: Story | None = None
    with top[0]:
        if names:
            default = stories.DEMO_STORY if stories.DEMO_STORY in names else names[0]
            # The widget's own state goes when the widget is not drawn (while presenting): the choice is kept
            # under a plain key too.
            state.seed(_key("story_select"), st.session_state.get(_key("story"), default), names)
            name = st.selectbox("Story", names, key=_key("story_select"))
            st.session_state[_key("story")] = name
            story = _load(store, name) if name else None
        else:
            st.info("No story yet. Add a view from the Search or Compare page, or import a story file below.")
    offer_demo = stories.DEMO_STORY not in names and _has_demo_collections(pg)
    if offer_demo and st.button(f"Load the demo story “{stories.DEMO_STORY}”", key=_key("load_demo")):
        try:
            store.save_story_if_new(stories.demo_story(jina_key_present=pg.has_jina_key))
        except PlaygroundError as err:
            st.error(safe.text(err))
        else:
            st.session_state[_key("story")] = stories.DEMO_STORY
            st.session_state.pop(_key("story_select"), None)
            st.rerun()
    if story is not None:
        if top[1].button("Present", type="primary", icon=":material/slideshow:", key=_key("start"),
                         disabled=not story.views, width="stretch"):
            st.session_state[_key("on")] = True
            st.session_state[_key("index")] = 0
            st.rerun()
        st.session_state[_key("prefetch")] = top[2].toggle(
            "Prepare the next view ahead", value=st.session_state.get(_key("prefetch"), True),
            key=_key("prefetch_toggle"),
            help="Search and rerank the next view in the background while you talk (free rerankers only: a paid "
            "one runs when you step onto its view).",
        )
        _views_editor(store, story)
        _story_files(pg, store, story)
    _import(store)


def _has_demo_collections(pg: Playground) -> bool:
    names = {info.name for info in state.collections(pg)}
    return any(spec.name in names for spec in DEMO_COLLECTIONS)


def views_page(count: int, page: int, size: int = VIEWS_PER_PAGE) -> tuple[int, range]:
    """The page actually shown (``page`` clamped to the pages there are) and the view indexes on it."""
    pages = max(1, math.ceil(count / size))
    page = min(max(page, 0), pages - 1)
    return page, range(page * size, min(count, (page + 1) * size))


def _views_pager(story: Story) -> range:
    """Page controls for the views list (only when it has more than one page); the indexes to draw.

    The page is kept per story under a plain key, so it survives the list's own reruns (a move, a note) and
    presenting; a story that shrank shows its last page."""
    count = len(story.views)
    pages: dict[str, int] = st.session_state.setdefault(_key("views_page"), {})
    page, shown = views_page(count, pages.get(story.name, 0))
    pages[story.name] = page
    if count <= VIEWS_PER_PAGE:
        return shown
    last = math.ceil(count / VIEWS_PER_PAGE) - 1
    bar = st.container(horizontal=True, vertical_alignment="center", key="present-views-pager")
    if bar.button("Previous", icon=":material/chevron_left:", key=_key("views_prev"), disabled=page == 0):
        pages[story.name] = page - 1
        st.rerun()
    bar.caption(f"Views {shown.start + 1}–{shown.stop} of {count} (page {page + 1} of {last + 1})")
    if bar.button("Next", icon=":material/chevron_right:", key=_key("views_next"), disabled=page == last):
        pages[story.name] = page + 1
        st.rerun()
    return shown


def _follow(story: Story, index: int) -> None:
    """Show the page a moved view landed on (it may cross a page boundary)."""
    st.session_state.setdefault(_key("views_page"), {})[story.name] = index // VIEWS_PER_PAGE


def _views_editor(store: Store, story: Story) -> None:
    st.subheader(f"{len(story.views)} views")
    for i in _views_pager(story):
        view = story.views[i]
        with st.container(border=True):
            row = st.columns([8, 0.7, 0.7, 0.7], vertical_alignment="center")
            row[0].markdown(f"**{i + 1}.** {md_escape(_view_label(view), 300)}")
            if row[1].button("", icon=":material/arrow_upward:", key=_key(f"up{i}"), disabled=i == 0,
                             help="Move up"):
                _save(store, story.moved(i, -1), f"Moved view {i + 1} up.")
                _follow(story, i - 1)
                st.rerun()
            if row[2].button("", icon=":material/arrow_downward:", key=_key(f"down{i}"),
                             disabled=i == len(story.views) - 1, help="Move down"):
                _save(store, story.moved(i, 1), f"Moved view {i + 1} down.")
                _follow(story, i + 1)
                st.rerun()
            if row[3].button("", icon=":material/delete:", key=_key(f"del{i}"), help="Remove this view"):
                _save(store, story.without(i), f"Removed view {i + 1}.")
                st.rerun()
            with st.expander("What to look for (note)", expanded=False):
                note = st.text_area("Note", view.note, key=_key(f"note{i}"), max_chars=stories.MAX_NOTE,
                                    label_visibility="collapsed")
                if st.button("Save note", key=_key(f"savenote{i}")):
                    _save(store, story.with_note(i, note), f"Saved the note of view {i + 1}.")
                    st.rerun()


def _story_files(pg: Playground, store: Store, story: Story) -> None:
    with st.expander("Rename, delete, export, snapshot", expanded=False):
        cols = st.columns(2)
        with cols[0]:
            new_name = st.text_input("New name", story.name, key=_key("rename"), max_chars=200)
            if st.button("Rename", key=_key("do_rename")) and new_name.strip() != story.name:
                try:
                    store.rename_story(story.name, new_name)
                except PlaygroundError as err:
                    st.error(safe.text(err))
                else:
                    st.session_state[_key("story")] = new_name.strip()
                    st.session_state.pop(_key("story_select"), None)
                    feedback.flash(f"Renamed to “{md_escape(new_name.strip())}”.", "success", "present")
                    st.rerun()
        with cols[1]:
            sure = st.checkbox("Yes, delete this story", key=_key("sure"))
            if st.button("Delete story", key=_key("delete"), disabled=not sure):
                try:
                    store.delete_story(story.name)
                except PlaygroundError as err:
                    st.error(safe.text(err.message))
                else:
                    st.session_state.pop(_key("story"), None)
                    st.session_state.pop(_key("story_select"), None)
                    feedback.flash(f"Deleted “{md_escape(story.name)}”.", "success", "present")
                    st.rerun()
        data = stories.story_to_json(story).encode("utf-8")
        st.download_button("Export story (JSON)", data, file_name=f"{_slug(story.name)}.story.json",
                           mime="application/json", key=_key("export"), on_click="ignore",
                           icon=":material/download:")
        tally_lines = _tally(store, story.name)
        made: dict[Story, bytes] = st.session_state.setdefault(_key("snapshots"), {})
        lifecycle.release_at_end(_key("snapshots"), made.clear)
        if story not in made and st.button("Prepare a snapshot of the whole story (HTML)", key=_key("snap_make"),
                                           help="Views already shown with a paid reranker keep it; the others "
                                           "are prepared with the free paths only."):
            work = presenter(pg)
            shown = []
            bar = st.progress(0.0, text=f"Preparing view 1 of {len(story.views)}…")
            for number, view in enumerate(story.views, 1):
                shown.append(work.ready(view) or work.show(view, allow_paid=False))
                bar.progress(number / len(story.views), text=f"Prepared {number} of {len(story.views)} views")
            made.clear()  # only the latest story's file is kept in the session
            made[story] = snapshot_html(
                story.name, shown, versions=versions(pg), created=datetime.now(UTC),
                grades=[p.grades for p in shown], tally_lines=tally_lines,
            ).encode("utf-8")
            bar.empty()
        if story in made:
            st.download_button(
                "Snapshot of the whole story (HTML)", made[story], file_name=f"{_slug(story.name)}.html",
                mime="text/html", key=_key("snapshot"), on_click="ignore", icon=":material/download:",
            )
        for line in tally_lines:
            st.caption(safe.text(line))


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "story"


def _import(store: Store) -> None:
    with st.expander("Import a story file", expanded=False):
        upload = st.file_uploader("Story file (.json)", type=["json"], key=_key("upload"),
                                  max_upload_size=files.MAX_FILE_MB)
        if upload is None:
            return
        try:
            story = stories.story_from_file(upload.getvalue())
        except PlaygroundError as err:
            st.error(safe.text(err))
            return
        exists = story.name in store.story_names()
        label = (f"Replace “{md_escape(story.name)}”" if exists
                 else f"Import “{md_escape(story.name)}” ({len(story.views)} views)")
        if st.button(label, key=_key("do_import"), type="primary"):
            _save(store, story, f"Imported “{md_escape(story.name)}” with {len(story.views)} views.")
            st.session_state[_key("story")] = story.name
            st.session_state.pop(_key("story_select"), None)
            st.rerun()


def _tally(store: Store, name: str) -> list[str]:
    try:
        return stories.tally(store.preferences(story=name))
    except PlaygroundError:
        return []


def _grades(store: Store | None, view: StoryView) -> dict[str, int] | None:
    if store is None:
        return None
    try:
        return store.grades(view.request.collection, view.request.query) or None
    except PlaygroundError:
        return None


# ---------------------------------------------------------------------------------------------- present


def _stylesheet() -> None:
    # A static file of ours (never built from data), so this markdown carries no untrusted HTML.
    st.markdown(f"<style>{STYLESHEET.read_text(encoding='utf-8')}</style>", unsafe_allow_html=True)


def _step(offset: int, count: int) -> None:
    """A button's callback: runs before the script, so the buttons drawn next already know the new view (their
    enabled state is never one step behind)."""
    index = int(st.session_state.get(_key("index"), 0)) + offset
    st.session_state[_key("index")] = max(0, min(index, count - 1))


def _toggle(name: str) -> None:
    st.session_state[_key(name)] = not st.session_state.get(_key(name), False)


def _exit() -> None:
    st.session_state[_key("on")] = False


def present(pg: Playground, store: Store, story: Story) -> None:
    _stylesheet()
    screen = viewport.viewport()
    count = len(story.views)
    index = max(0, min(int(st.session_state.get(_key("index"), 0)), count - 1))
    st.session_state[_key("index")] = index
    blind = bool(st.session_state.get(_key("blind_on"), False))
    nav = st.container(horizontal=True, vertical_alignment="center", key="present-nav")
    nav.button("Previous", icon=":material/arrow_back:", shortcut="Left", key=_key("prev"), disabled=index == 0,
               on_click=_step, args=(-1, count), help="Previous view (← or a clicker's PageUp)")
    nav.button("Next", icon=":material/arrow_forward:", shortcut="Right", key=_key("next"),
               disabled=index == count - 1, on_click=_step, args=(1, count),
               help="Next view (→ or a clicker's PageDown)")
    nav.button("Settings", key=_key("settings_btn"), shortcut="S", icon=":material/tune:", type="tertiary",
               on_click=_toggle, args=("settings",), disabled=blind,
               help="Show or hide this view's settings (key S; hidden while the A/B test is blind)")
    nav.button("All candidates" if not st.session_state.get(_key("full")) else "Top N", key=_key("full_btn"),
               shortcut="F", icon=":material/unfold_more:", type="tertiary", on_click=_toggle, args=("full",),
               help="Switch the chart between the shown top N (linear) and all K candidates (log scale). Key F.")
    nav.button("Blind A/B", key=_key("blind_btn"), shortcut="V", icon=":material/compare:", type="tertiary",
               on_click=_toggle, args=("blind_on",),
               help="Show two orderings as A and B; the room picks with A, B or T (tie). Key V toggles.")
    nav.button("Exit", icon=":material/close:", shortcut="Esc", key=_key("exit"), type="tertiary", on_click=_exit)
    # A presenter's clicker sends PageUp / PageDown: the same two steps as ← / →. These two buttons carry only
    # the shortcuts (the stylesheet hides them), so the screen shows one pair of navigation controls.
    with st.container(key="present-clicker"):
        st.button("Previous view", shortcut="PageUp", key=_key("pgup"), disabled=index == 0,
                  on_click=_step, args=(-1, count))
        st.button("Next view", shortcut="PageDown", key=_key("pgdn"), disabled=index == count - 1,
                  on_click=_step, args=(1, count))
    view = story.views[index]
    work = presenter(pg)
    with st.spinner("Preparing this view…"):
        prepared = work.show(view, allow_paid=True)
    prefetch = bool(st.session_state.get(_key("prefetch"), True))
    if prefetch and index + 1 < count:
        work.prefetch(story.views[index + 1])  # started before drawing: the room reads this view meanwhile
    with nav:
        # Blind: the story's name may name a model, so only the position is said.
        where = f"view {index + 1} of {count}" if blind else f"{md_escape(story.name)} · view {index + 1} of {count}"
        _next_state(work, story, index, where)
    _view(pg, store, story, index, prepared, screen, blind)
    if prefetch:
        for other in prefetch_order(count, index):
            work.prefetch(story.views[other])


def _next_state(work: Presenter, story: Story, index: int, where: str) -> None:
    """Where we are, and the next view's preparation said as it is (checked again every second while it is
    being prepared; a fragment, so only this line reruns)."""
    if index + 1 >= len(story.views):
        st.caption(f"{where} · last view")
        return
    if not st.session_state.get(_key("prefetch"), True):
        st.caption(f"{where} · next view not prepared ahead (preparing ahead is off)")
        return
    view = story.views[index + 1]
    if work.status(view) == "preparing":
        _watch_next(work, view, where)
    else:
        st.caption(f"{where} · next view {work.status(view)}")


@st.fragment(run_every=1.0)
def _watch_next(work: Presenter, view: StoryView, where: str) -> None:
    progress = work.status(view)
    st.caption(f"{where} · next view {progress}")
    if progress != "preparing":
        st.rerun(scope="app")  # stop polling: the next full run draws the line without a timer


def _settings_line(view: StoryView, search: SearchResult | None = None) -> str:
    r = view.request
    mode = r.mode.value + (f", alpha {r.alpha:g}, {r.fusion.value} fusion" if r.mode.value == "hybrid" else "")
    read = (search.request.text_property if search is not None else None) or r.text_property or "the default"
    cut = f" · cut: {view.cut.label}" if view.cut is not None else ""
    where = "".join(f" · where {f}" for f in r.filters)
    return (f"{r.collection} · {mode}{where} · K {r.limit} · N {view.top_n} · reranked on: {read} · "
            f"rerankers: {', '.join(c.label for c in view.choices)}{cut}")


# Plain words first, the symbol in brackets, and a definition on hover (issue 19: a stakeholder meets no bare
# "Kendall τ").
TAU_HELP = ("How alike the two orders are, over all {k} candidates: 1 = order unchanged, 0 = unrelated, "
            "−1 = reversed (Kendall's τ-b, a rank correlation).")
OVERLAP_HELP = ("How many of the {n} documents shown first before reranking are still among the {n} shown first "
                "after it.")
CLIMB_HELP = ("The document now in the top {n} that climbed the most places: where it was before → where it is "
              "now. Documents that climbed but stayed below the top {n} are not counted.")
NDCG_HELP = ("Ranking quality of the top {n} against this query's judgments (normalised discounted cumulative "
             "gain, nDCG@{n}): 1 = the best possible order of the judged documents, 0 = none relevant. {judged}")


CUT_HELP = ("The view's cut, {label}, applied to this reranked list of {k} candidates as an application would "
            "(ask Weaviate for limit = {k} with rerank, then cut in the client): it keeps {kept}. Greyed labels on "
            "the right and the dotted line mark what it drops.")


def kept_by_cut(view: StoryView, run: RerankRun) -> int | None:
    """How many documents of ``run``'s reranked list (best first) the view's cut keeps; None without a cut."""
    if view.cut is None:
        return None
    return view.cut.kept([d.score for d in run.result.ranked])


def _headline(numbers: Headline, n: int, k: int, view: StoryView | None = None, kept: int | None = None) -> None:
    """The headline numbers, stacked beside the chart, each scoped to what is shown and with a direction cue."""
    if view is not None and view.cut is not None and kept is not None:
        st.metric(f"kept by the cut ({view.cut.label})", f"kept {kept} of {k}",
                  help=CUT_HELP.format(label=view.cut.label, k=k, kept=kept))
    if numbers.ndcg_before is not None and numbers.ndcg_after is not None:
        change = numbers.ndcg_change
        st.metric(f"ranking quality, top {n} (nDCG@{n})", f"{numbers.ndcg_before:.2f} → {numbers.ndcg_after:.2f}",
                  delta=change.replace("▲ ", "").replace("▼ ", "").replace("● ", "") if change else None,
                  delta_color="off" if change.startswith("●") else "normal",
                  delta_arrow="off" if change.startswith("●") else "auto",
                  help=NDCG_HELP.format(n=n, judged=numbers.judged))
    st.metric(f"still in the top {n} (overlap)", numbers.overlap.replace("/", " of "),
              help=OVERLAP_HELP.format(n=n))
    st.metric(f"biggest climb into the top {n}", numbers.biggest_climb,
              delta=f"+{numbers.climb_places} places" if numbers.climb_places else None,
              help=CLIMB_HELP.format(n=n))
    st.metric(f"rank agreement (Kendall τ), all {k}", tables.fmt_correlation(numbers.kendall_tau),
              help=TAU_HELP.format(k=k))


NAV_PX = 62  # the navigation row with its gaps
CAPTION_PX = 40


def _chart_box(screen: viewport.Viewport, note: str, full_width: bool) -> tuple[int, int, int]:
    """(width, height, font size) of the stage chart for this screen: the room left under the heading and the
    note, so the chart and its legend end inside the viewport."""
    font = stage_font_px(screen.width, screen.height)
    scale = font / 18
    heading_px = round(62 * scale)
    note_font = max(19.0, screen.height * 0.027)
    text_width = screen.width - 48
    note_lines = math.ceil(len(note) * note_font * 0.5 / text_width) if note else 0
    note_px = round(note_lines * note_font * 1.4 + (10 if note else 0))
    height = screen.height - NAV_PX - heading_px - note_px - round(CAPTION_PX * scale) - 40
    width = round(text_width * (1.0 if full_width else 0.77)) - 16
    return max(width, 480), max(height, 300), font


def _view(pg: Playground, store: Store | None, story: Story, index: int, prepared: PreparedView,
          screen: viewport.Viewport, blind: bool) -> None:
    view = prepared.view
    if blind and prepared.search is not None and prepared.runs:
        # Nothing that could tell the sides apart: no note, no title (it may name a model), no settings, no
        # reranker names in errors.
        st.markdown(f"## “{md_escape(view.request.query, 300)}”")
        _blind(store, story, index, prepared)
        return
    st.markdown(f"## {md_escape(view.heading, 300)}")
    if view.note:
        st.markdown(f'<div class="present-note">{_html_text(view.note)}</div>', unsafe_allow_html=True)
    for line in prepared.errors.values():
        st.info(safe.text(line), icon=":material/info:")
    if prepared.errors and st.button("Try this step again", key=_key(f"retry{index}")):
        presenter(pg).forget(view)
        st.rerun()
    if st.session_state.get(_key("settings"), False):
        with st.container(border=True):
            st.text(_settings_line(view, prepared.search))
            if prepared.search is not None:
                choice = view.choices[0]
                request = prepared.search.request
                code, error = feedback.call_safely(lambda: codegen.python_code(
                    request, choice, weaviate_url=pg.spec.url, grpc_port=pg.spec.grpc_target[1],
                    needs_query_vector=needs_query_vector(request, pg.collection(request.collection)),
                    jina_base_url=pg.jina_base_url, cut=view.cut), "copy as code")
                if code:
                    with st.expander("Copy as code", expanded=False):
                        st.code(code, language="python")
                elif error:
                    st.info(error)
    if not prepared.runs:
        if prepared.search is None:
            st.caption("Nothing to show for this step; → goes on with the story.")
        return
    runs = list(prepared.runs.items())
    full = bool(st.session_state.get(_key("full"), False))
    width, height, font = _chart_box(screen, view.note, full_width=False)
    if len(runs) > 1:
        height -= 48  # the tab row
    containers = st.tabs([label for label, _ in runs]) if len(runs) > 1 else [st.container()]
    for (label, run), box in zip(runs, containers, strict=True):
        with box:
            numbers = prepared.headlines.get(label) or headline(run, prepared.grades)
            kept = kept_by_cut(view, run)
            chart_col, numbers_col = st.columns([77, 23], gap="small")
            with numbers_col, st.container(key=f"present-numbers-{index}-{_slug(label)}"):
                _headline(numbers, numbers.overlap_k, len(run.search.hits), view, kept)
            with chart_col, st.container(key=f"present-stage-{index}-{_slug(label)}"):
                figure = stage_chart(
                    run.movement, top_n=view.top_n, grades=prepared.grades, highlight=prepared.highlight,
                    width_px=width, height_px=height, font_px=font, full=full,
                    after_label=f"after: {label}", kept=kept,
                )
                st.plotly_chart(figure, key=_key(f"chart{index}-{label}-{'full' if full else 'top'}"),
                                theme=None, config=PLOTLY_CONFIG, width="content")
            n = numbers.overlap_k
            other = f"F: back to the top {n}" if full else f"F: all {len(run.search.hits)} (log scale)"
            marked = " · ★ the passage the note is about" if prepared.highlight else ""
            if prepared.grades:  # the glyphs beside the labels: what each grade looks like
                marked += " · grades: " + ", ".join(tables.GRADE_BADGES)
            cut = (f" · cut {md_escape(view.cut.label)}: kept {kept} of {len(run.search.hits)}, the rest greyed"
                   if view.cut is not None else "")
            st.caption(f"“{md_escape(view.request.query)}” · {label} · top {n} of {len(run.search.hits)} candidates"
                       f"{cut}{marked} · {other}"
                       + (" · rerank from this session's cache" if run.result.cached else ""))


def _html_text(text: str) -> str:
    return html.escape(text, quote=True)


# ---------------------------------------------------------------------------------------------- blind A/B


def _orderings(prepared: PreparedView) -> tuple[str, str, dict[str, list[str]]]:
    runs = list(prepared.runs.items())
    search = prepared.search
    assert search is not None
    ranked = orderings(search.hits, {label: run.result for label, run in runs})
    if len(runs) >= 2:
        return runs[0][0], runs[1][0], ranked
    return RETRIEVAL, runs[0][0], ranked


BLIND_SNIPPET = 110


def _blind(store: Store | None, story: Story, index: int, prepared: PreparedView) -> None:
    """Two orderings as A and B on sides drawn at random per view (kept for the view, saved with the pick);
    nothing names, colours or orders them by what they are. The pick buttons and the reveal come first, so
    they are in view at 1280x720; the two lists follow."""
    view = prepared.view
    first, second, ranked = _orderings(prepared)
    pairs: dict[int, BlindPair] = st.session_state.setdefault(_key("blind"), {})
    pair = pairs.get(index)
    if pair is None or {pair.a, pair.b} != {first, second}:
        pair = stories.blind_pair(first, second, random.SystemRandom())
        pairs[index] = pair
    picks: dict[int, str] = st.session_state.setdefault(_key("picked"), {})
    search = prepared.search
    assert search is not None
    texts = {hit.uuid: hit.text for hit in search.hits}
    if prepared.errors:
        st.caption("Part of this view did not run; the two lists below are the ones that did.")
    top = st.container(horizontal=True, vertical_alignment="center", key="present-blind-picks")
    top.markdown(f"**Which list answers the query better?** The same {len(search.hits)} candidates, "
                 "two orderings.")
    chosen = None
    if top.button("A is better", key=_key("pick_a"), shortcut="A"):
        chosen = "a"
    if top.button("Tie", key=_key("pick_tie"), shortcut="T"):
        chosen = "tie"
    if top.button("B is better", key=_key("pick_b"), shortcut="B"):
        chosen = "b"
    if chosen is not None:
        if store is None:
            st.info("The pick cannot be saved: the store is unavailable.")
        else:
            try:
                store.record_preference(view.request.collection, view.request.query, pair, chosen,
                                          story=story.name)
            except PlaygroundError as err:
                st.info(f"The pick was not saved: {safe.text(err.message)}")
            else:
                picks[index] = chosen
    if index in picks:
        picked = picks[index]
        winner = pair.label_of(picked)
        st.success(
            f"Reveal: A was {pair.a}, B was {pair.b}. "
            + (f"The room preferred {winner}." if winner else "The room called it a tie.")
        )
    left, right = st.columns(2)
    for column, side, label in ((left, "A", pair.a), (right, "B", pair.b)):
        with column, st.container(key=f"present-blind-{side.lower()}"):
            # Escaped text (never HTML or markdown from the database), one numbered line per document.
            lines = [f"{rank}. {md_escape(tables.snippet(texts.get(uuid, ''), BLIND_SNIPPET), 130)}"
                     for rank, uuid in enumerate(ranked[label][: view.top_n], 1)]
            st.markdown(f"**{side}**\n\n" + "\n".join(lines))


def render() -> None:
    pg = lifecycle.connected_playground()
    if pg is None:
        return
    store = _store()
    if store is None:
        return
    name = st.session_state.get(_key("story"))
    if st.session_state.get(_key("on")) and name:
        story = _load(store, name)
        if story is not None and story.views:
            present(pg, store, story)
            return
        st.session_state[_key("on")] = False
    manage(pg, store)
