"""Store write throughput with concurrent writers, on SQLite and on PostgreSQL (not part of the test suite).

    .venv/bin/python -m benchmarks.store_writes [--writers 1 4 16] [--grades 200] [--postgres-url URL]

Each writer is a thread (one Store shared by the threads, as one app process serves several sessions) or a
process (its own Store, as several app processes or machines would). Every writer sets ``--grades`` grades,
each ``set_grade`` its own committed transaction, half on rows of its own and half on one row everyone fights
over. Afterwards the store must hold exactly the expected rows (no write lost); exits 1 otherwise.

SQLite: a file in a temporary folder (WAL, synchronous=FULL: every commit is fsynced). PostgreSQL: ``--postgres-url``
or a throwaway cluster started like the tests' (fsync=off there, so its figures are an upper bound of what a
server with durable disks gives; say so when quoting them).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from rerank_playground.store import Store, open_store


def _write(store: Store, writer: int, grades: int, query: str) -> None:
    for i in range(grades):
        if i % 2:
            store.set_grade("Bench", query, "contended", i % 4, judge=f"w{writer}")
        else:
            store.set_grade("Bench", query, f"w{writer}-d{i}", i % 4, judge=f"w{writer}")


def _process_main(url: str, writer: int, grades: int, query: str, start: Callable[[], object]) -> None:
    with open_store(url) as store:
        start()  # wait for the others: timing starts when all are connected
        _write(store, writer, grades, query)


def run(url: str, kind: str, writers: int, grades: int) -> float:
    """Seconds for ``writers`` concurrent writers to commit ``grades`` grades each; checks nothing was lost."""
    query = f"bench {kind} {writers} {uuid.uuid4().hex[:8]}"
    with open_store(url) as store:
        if kind == "threads":
            barrier = threading.Barrier(writers + 1)

            def worker(writer: int) -> None:
                barrier.wait()
                _write(store, writer, grades, query)

            threads = [threading.Thread(target=worker, args=(w,)) for w in range(writers)]
            for thread in threads:
                thread.start()
            barrier.wait()
            started = time.perf_counter()
            for thread in threads:
                thread.join()
        else:
            context = multiprocessing.get_context("spawn")
            process_barrier = context.Barrier(writers + 1)
            processes = [
                context.Process(target=_process_main, args=(url, w, grades, query, process_barrier.wait))
                for w in range(writers)
            ]
            for process in processes:
                process.start()
            process_barrier.wait()
            started = time.perf_counter()
            for process in processes:
                process.join()
            if any(p.exitcode != 0 for p in processes):
                raise SystemExit(f"a writer process failed: exit codes {[p.exitcode for p in processes]}")
        elapsed = time.perf_counter() - started
        found = store.grades("Bench", query)
    expected = {f"w{w}-d{i}" for w in range(writers) for i in range(0, grades, 2)} | {"contended"}
    if set(found) != expected:
        raise SystemExit(f"LOST WRITES: {len(expected - set(found))} rows missing ({url}, {kind}, {writers})")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--grades", type=int, default=200, help="grades per writer")
    parser.add_argument("--postgres-url", help="an existing server (default: a throwaway cluster)")
    args = parser.parse_args()

    cluster = None
    with tempfile.TemporaryDirectory(prefix="rp-bench-") as folder:
        engines = {"sqlite": f"sqlite:///{Path(folder) / 'bench.sqlite3'}"}
        try:
            if args.postgres_url:
                engines["postgresql"] = args.postgres_url
            else:
                from testkit.postgres import ThrowawayPostgres

                cluster = ThrowawayPostgres()
                cluster.start()
                admin = sa.create_engine(cluster.url, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.exec_driver_sql("CREATE DATABASE bench")
                admin.dispose()
                engines["postgresql"] = sa.make_url(cluster.url).set(database="bench").render_as_string(False)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"machine: {os.cpu_count()} cores, load average {load} at the start; {args.grades} grades per writer")
            print(f"sqlite: {engines['sqlite']} (WAL, synchronous=FULL)")
            where = "--postgres-url" if args.postgres_url else "throwaway local cluster, fsync=off: an upper bound"
            print(f"postgresql: {where}")
            print(f"{'engine':<11} {'writers':<16} {'grades':>7} {'seconds':>8} {'grades/s':>9}")
            for engine, url in engines.items():
                for kind in ("threads", "processes"):
                    for writers in args.writers:
                        seconds = run(url, kind, writers, args.grades)
                        total = writers * args.grades
                        label = f"{writers} {kind}"
                        print(f"{engine:<11} {label:<16} {total:>7} {seconds:>8.2f} {total / seconds:>9.0f}")
        finally:
            if cluster is not None:
                cluster.remove()
    print("No write lost in any configuration (every set_grade is its own committed transaction).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
