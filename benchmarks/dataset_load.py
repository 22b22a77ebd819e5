"""Dataset load figures: objects/s and peak memory of ``rerank-playground load`` (not part of the test suite).

    .venv/bin/python -m benchmarks.dataset_load [--sizes 10000 100000] [--batch-size 200]

For each size, a BEIR folder of generated documents (``testkit.beir.write_corpus``: a title and ~12 words each, about
130 bytes a line) with one judged query is loaded into a fresh collection of a real weaviate-server (started here on a
temporary data folder) with the local WordLlama embedder, by the CLI in its own process,
exactly as a user runs it. Reported per size: the loader's own rate (objects imported / import seconds, embedding
included, the checking pass excluded), the wall time of the whole command (checking pass, connection and query set
included), the loader process's CPU time and peak RSS (``ru_maxrss`` of that child alone), and the machine's load
average (the rate depends on what else runs; the CPU time much less). The Weaviate server's CPU and memory are not
included. Flat memory means the peak RSS barely moves from 10k to 100k documents.

Measured 2026-12-07 (2 CPUs shared with other work, batch size 200): 10,000 documents 647 objects/s, loader CPU
3.5 s, peak RSS 233 MB (load average 9.9); 100,000 documents 581 objects/s, loader CPU 20.9 s, peak RSS 277 MB
(load average 7.2). Reading and checking alone stay flat (120 MB at both sizes); the ~40 MB more at 100k comes
with WordLlama's embedding of ever new texts (embedding the same texts again stays flat).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testkit.beir import write_corpus
from testkit.weaviate_data import connect, unique_collection_name
from weaviate_local.server import start_weaviate

ROOT = Path(__file__).resolve().parents[1]


def _folder(root: Path, n: int) -> Path:
    folder = root / f"gen{n}"
    (folder / "qrels").mkdir(parents=True)
    write_corpus(folder / "corpus.jsonl", n)
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "glacier meltwater"}\n', encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td0\t2\n", encoding="utf-8")
    return folder


def measure(endpoint_url: str, grpc_port: int, root: Path, n: int, batch_size: int) -> dict[str, float]:
    folder = _folder(root, n)
    name = unique_collection_name("Bench")
    env = {k: v for k, v in os.environ.items() if k != "WEAVIATE_API_KEY"}
    env.update(WEAVIATE_URL=endpoint_url, WEAVIATE_GRPC_PORT=str(grpc_port), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "rerank_playground.cli", "load", str(folder), "--collection", name,
               "--db", str(root / f"store{n}.sqlite3"), "--no-progress", "--batch-size", str(batch_size)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=root, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (its peak RSS alone)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"load failed:\n{err}")
    rate = float(re.search(r"\(([\d,]+) objects/s", err).group(1).replace(",", ""))  # type: ignore[union-attr]
    import_s = float(re.search(r"in ([\d.]+) s \(", err).group(1))  # type: ignore[union-attr]
    embed_s = float(re.search(r"([\d.]+) s of it computing vectors", err).group(1))  # type: ignore[union-attr]
    held = int(re.search(r"holds ([\d,]+) objects", err).group(1).replace(",", ""))  # type: ignore[union-attr]
    if held != n:
        raise SystemExit(f"expected {n} objects, the collection holds {held}")
    return {"n": n, "rate": rate, "wall_s": wall, "import_s": import_s, "embed_s": embed_s,
            "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
            "load": os.getloadavg()[0], "corpus_mb": (folder / "corpus.jsonl").stat().st_size / 1e6,
            "name": name}  # type: ignore[dict-item]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with start_weaviate(data_dir=root / "data", log_path=root / "weaviate.log", progress=lambda _: None) as proc:
            endpoint = proc.endpoint
            print(f"weaviate {endpoint.url} (gRPC {endpoint.grpc_port}); local embedder; batch size "
                  f"{args.batch_size}; {os.cpu_count()} CPUs shared with other work", flush=True)
            for n in args.sizes:
                row = measure(endpoint.url, endpoint.grpc_port, root, n, args.batch_size)
                print(f"{n:>8,} documents ({row['corpus_mb']:.1f} MB corpus): {row['rate']:,.0f} objects/s "
                      f"(import: {row['import_s']:.1f} s, of which {row['embed_s']:.1f} s embedding), "
                      f"{row['wall_s']:.1f} s whole command, loader CPU {row['cpu_s']:.1f} s, peak RSS of the "
                      f"loader {row['peak_rss_mb']:.0f} MB; load average {row['load']:.1f} at the end", flush=True)
                client = connect(endpoint)
                try:
                    client.collections.delete(str(row["name"]))
                finally:
                    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
