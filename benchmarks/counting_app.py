"""``streamlit run`` with every Weaviate call of every session's Playground counted (for benchmarks/latency.py).

    python -m benchmarks.counting_app <streamlit run arguments...>

The count file (``RERANK_BENCH_WEAVIATE_CALLS``) gets one line per call that reached the Weaviate server
through a Playground: searches, collection descriptions and listings (``_with_reconnect``) and connects.
Cached answers never get there, so a rerun that changes nothing must leave the file as it was. Streamlit runs
in this interpreter, so the app's pages use the wrapped class.

With ``RERANK_BENCH_PROFILE=<folder>`` every script run is also profiled (cProfile) into
``<folder>/run-<n>-<page>.prof``, to see where a click's time goes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rerank_playground.playground import Playground

COUNT_FILE = Path(os.environ["RERANK_BENCH_WEAVIATE_CALLS"])
_lock = threading.Lock()


def _counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock, COUNT_FILE.open("a") as out:
            out.write(f"{name}\n")
        return method(*args, **kwargs)

    return wrapper


Playground._with_reconnect = _counted("server call", Playground._with_reconnect)  # type: ignore[method-assign]
Playground.connect = _counted("connect", Playground.connect)  # type: ignore[method-assign]



def _around_script_runs(around: Callable[[Any], contextlib.AbstractContextManager[None]]) -> None:
    """Run every script run of every session inside ``around(rerun_data)`` (wrappers stack)."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original = ScriptRunner._run_script

    def wrapped(self: ScriptRunner, rerun_data: Any) -> None:
        with around(rerun_data):
            original(self, rerun_data)

    ScriptRunner._run_script = wrapped  # type: ignore[method-assign]


def _profile_script_runs(folder: Path) -> None:
    """cProfile each script run into ``folder``/run-<n>-<page>.prof."""
    import cProfile
    import itertools

    folder.mkdir(parents=True, exist_ok=True)
    numbers = itertools.count(1)

    @contextlib.contextmanager
    def profiled(rerun_data: Any) -> Iterator[None]:
        page = (getattr(rerun_data, "page_name", None) or getattr(rerun_data, "page_script_hash", "") or "page")[:12]
        profile = cProfile.Profile()
        profile.enable()
        try:
            yield
        finally:
            profile.disable()
            profile.dump_stats(folder / f"run-{next(numbers):04d}-{page}.prof")

    _around_script_runs(profiled)


def _time_script_runs(path: Path) -> None:
    """One line per script run: its wall time in ms, and whether it was a fragment run (where a click's time
    goes on the server, without the profiler's own cost)."""
    import time

    @contextlib.contextmanager
    def timed(rerun_data: Any) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            kind = "fragment" if getattr(rerun_data, "fragment_id_queue", None) else "page"
            with _lock, path.open("a") as out:
                out.write(f"{(time.perf_counter() - started) * 1000:.1f} {kind}\n")

    _around_script_runs(timed)


if os.environ.get("RERANK_BENCH_RUN_TIMES"):
    _time_script_runs(Path(os.environ["RERANK_BENCH_RUN_TIMES"]))

if os.environ.get("RERANK_BENCH_PROFILE"):
    _profile_script_runs(Path(os.environ["RERANK_BENCH_PROFILE"]))

if __name__ == "__main__":
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    sys.exit(cli.main())
