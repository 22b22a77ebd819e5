"""The stated import limits keep pages fast: open the largest allowed query set and story, time a rerun.

    .venv/bin/python -m benchmarks.limits [--runs 5]

A real weaviate-server with the demo collections, a fresh SQLite store holding one query set at the limits of
``evaluation/io.py`` (``MAX_QUERIES`` queries of ``MAX_QUERY_CHARS`` characters, ``MAX_JUDGMENTS`` judgments) and
one story at the limits of ``presentation/stories.py`` (``MAX_VIEWS`` views, each with a ``MAX_NOTE``-character
note and a long heading). The app runs in Streamlit's AppTest (the real script, no browser): the Query sets page
and the Present page open the big set and the big story, then rerun ``--runs`` times. Reported: the median and
worst rerun, per page (target < 1 s). AppTest adds its own overhead, so a browser's rerun is no slower.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from rerank_playground.demo.loader import load_demo
from rerank_playground.evaluation import files, io
from rerank_playground.evaluation.judgments import QuerySet, SetQuery
from rerank_playground.presentation import stories
from rerank_playground.store import open_store
from testkit.weaviate_data import connect
from weaviate_local.server import start_weaviate

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def fill_store(db: Path) -> tuple[str, str]:
    store = open_store(str(db))
    try:
        words = ["volcano", "eruption", "history", "of", "writing", "animal", "behaviour", "river", "delta"]
        queries = tuple(
            SetQuery(f"q{i}", (f"query {i} " + " ".join(words[(i + j) % len(words)] for j in range(200)))
                     [: io.MAX_QUERY_CHARS])
            for i in range(io.MAX_QUERIES)
        )
        per_query = io.MAX_JUDGMENTS // io.MAX_QUERIES
        big = QuerySet(name="largest allowed", collection="DemoWiki", queries=queries)
        store.import_query_set(big, [(q.text, f"doc-{i}-{j}", j % 4) for i, q in enumerate(queries)
                                     for j in range(per_query)])
        demo = stories.demo_story(jina_key_present=False)
        views = [
            stories.StoryView(request=v.request, choices=v.choices, top_n=v.top_n,
                              note=("what to look for " * 200)[: stories.MAX_NOTE],
                              title=f"view {i} " + "a long heading " * 20)
            for i, v in enumerate((demo.views * stories.MAX_VIEWS)[: stories.MAX_VIEWS])
        ]
        store.save_story(stories.Story(name="largest allowed story", views=tuple(views)))
        return big.name, "largest allowed story"
    finally:
        store.close()


def time_reruns(at: AppTest, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        assert not at.exception, [e.value for e in at.exception]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            start_weaviate(data_dir=Path(tmp) / "data", log_path=Path(tmp) / "weaviate.log",
                           progress=lambda _: None) as proc:
        client = connect(proc.endpoint)
        try:
            load_demo(client)
        finally:
            client.close()
        db = Path(tmp) / "store.sqlite3"
        set_name, story_name = fill_store(db)
        os.environ.update({"WEAVIATE_URL": proc.endpoint.url, "WEAVIATE_GRPC_PORT": str(proc.endpoint.grpc_port),
                           "RERANK_PLAYGROUND_DB": str(db)})
        if proc.endpoint.api_key:
            os.environ["WEAVIATE_API_KEY"] = proc.endpoint.api_key
        print(f"limits: {io.MAX_QUERIES:,} queries of <= {io.MAX_QUERY_CHARS:,} characters and "
              f"{io.MAX_JUDGMENTS:,} judgments per set; {stories.MAX_VIEWS} views per story "
              f"(notes <= {stories.MAX_NOTE:,} characters); files <= {files.MAX_FILE_MB} MB")

        at = AppTest.from_file(APP, default_timeout=120).run()
        at.switch_page("pages/query_sets.py")
        at.session_state["sets.chosen"] = set_name
        started = time.perf_counter()
        at.run()
        opened = time.perf_counter() - started
        assert set_name in str(at.session_state["sets.chosen"])
        reruns = time_reruns(at, args.runs)
        print(f"Query sets, largest set: open {opened:.2f} s; rerun median {statistics.median(reruns):.2f} s, "
              f"worst {max(reruns):.2f} s")

        at.switch_page("pages/present.py")
        at.session_state["present.story"] = story_name
        started = time.perf_counter()
        at.run()
        opened = time.perf_counter() - started
        reruns = time_reruns(at, args.runs)
        print(f"Present, largest story: open {opened:.2f} s; rerun median {statistics.median(reruns):.2f} s, "
              f"worst {max(reruns):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
