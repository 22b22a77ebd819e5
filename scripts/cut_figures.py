"""Where to cut (issue 23) on a demo set, end to end with the real CLI: the figures of the issue's closing note.

    .venv/bin/python -m scripts.cut_figures [--out artifacts/cut23] [--model jina:jina-reranker-v2-base-multilingual]

Starts what the tests start (nothing of a running ``make demo`` is touched): the pinned ``weaviate-server`` on free
loopback ports with a temporary data folder and the demo collections, and the local Jina stand-in
(``testkit/jina_stand_in.py``, a test double that follows the API's contract: its scores are not a Jina model's).
Then, in a fresh store under ``--out``, it loads the demo's judged sets and runs, as subprocesses, exactly::

    rerank-playground eval --query-set "DemoWiki key-term queries" --mode hybrid -K 50 --rerank local --rerank MODEL
    rerank-playground cutoff RUN_ID --model local --constraint 'precision>=0.8' --chart .../reliability-local.png
    rerank-playground cutoff RUN_ID --model MODEL --constraint 'precision>=0.8' --chart .../reliability-jina.png
    (and each model once more with --constraint 'returned<=5')

each printed with its output (the keys go through the environment and are never printed). The transcript is also
written to ``--out``/transcript.txt.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from rerank_playground.demo.datasets import DEMO_WIKI
from rerank_playground.demo.loader import load_demo, wait_until_stable
from rerank_playground.evaluation.demo_sets import demo_set_name, load_demo_query_sets
from rerank_playground.store import open_store
from testkit.jina_stand_in import TEST_JINA_KEY, JinaStandIn
from testkit.weaviate_data import connect
from weaviate_local.server import start_weaviate

CLI = str(Path(sys.executable).with_name("rerank-playground"))
CONSTRAINT = "precision>=0.8"
BUDGET = "returned<=5"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("artifacts/cut23"))
    parser.add_argument("--model", default="jina:jina-reranker-v2-base-multilingual",
                        help="the Jina model the stand-in answers for (jina:<model>)")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    db = out / "store.sqlite3"
    db.unlink(missing_ok=True)  # a fresh store: the run id printed below is the only run in it
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with start_weaviate(data_dir=None, log_path=out / "weaviate.log", progress=lambda _: None) as server, \
            JinaStandIn(api_key=TEST_JINA_KEY) as jina:
        endpoint = server.endpoint
        client = connect(endpoint)
        try:
            wait_until_stable(client, load_demo(client), written_at=time.monotonic())
        finally:
            client.close()
        store = open_store(str(db))
        try:
            load_demo_query_sets(store)
        finally:
            store.close()
        env = {**os.environ, "JINAAI_APIKEY": TEST_JINA_KEY, "WEAVIATE_API_KEY": endpoint.api_key or ""}
        for name in ("WEAVIATE_URL", "WEAVIATE_GRPC_PORT", "JINA_BASE_URL", "RERANK_PLAYGROUND_DB"):
            env.pop(name, None)
        say(f"# Weaviate {endpoint.url} (gRPC {endpoint.grpc_port}, demo collections loaded), Jina stand-in "
            f"{jina.url}; WEAVIATE_API_KEY and JINAAI_APIKEY (the stand-in's test key) set in the environment")

        def run(*cli_args: str) -> str:
            say("$ rerank-playground " + shlex.join(cli_args))
            done = subprocess.run([CLI, *cli_args], env=env, capture_output=True, text=True, check=False)
            for text in (done.stdout, done.stderr):
                for line in text.rstrip().splitlines():
                    say(line)
            say(f"# exit status {done.returncode}")
            return done.stdout + done.stderr

        printed = run("eval", "--db", str(db), "--url", endpoint.url, "--grpc-port", str(endpoint.grpc_port),
                      "--jina-base-url", jina.url, "--query-set", demo_set_name(DEMO_WIKI.name), "--mode", "hybrid",
                      "-K", "50", "--rerank", "local", "--rerank", args.model, "--no-progress",
                      "--name", "issue 23: where to cut on DemoWiki")
        found = re.search(r"run ([0-9a-f]{32})", printed)
        if found is None:
            say("# no run id in the eval output: stopping")
            (out / "transcript.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            return 1
        run_id = found.group(1)
        for model, png in (("local", "reliability-local.png"), (args.model.split(":", 1)[-1], "reliability-jina.png")):
            run("cutoff", run_id, "--db", str(db), "--model", model, "--constraint", CONSTRAINT,
                "--chart", str(out / png))
            # a budget constraint too: a cut is chosen even for a model no cut makes that precise
            run("cutoff", run_id, "--db", str(db), "--model", model, "--constraint", BUDGET)
    (out / "transcript.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
