"""``rerank-playground cutoff RUN_ID --model ... --constraint 'precision>=0.8'``: where to cut a saved run's
reranked lists, printed with bootstrap CIs (the same ``evaluation.cutoff`` figures as the Runs page and the report).

Exit status: 0 a cut was chosen; 1 no cut meets the constraint; 2 bad input (the message names what to fix).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_CHOSEN, EXIT_NONE_MEETS = 0, 1


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``cutoff`` subcommand to the CLI's subparsers."""
    p = sub.add_parser("cutoff", help="where to cut reranked lists: best score threshold / top k / relative drop "
                                      "under a constraint, with bootstrap CIs")
    common(p)
    p.add_argument("run_id")
    p.add_argument("--model", help="the ordering to cut: its label or a part of it (default: the run's only "
                                   "reranker)")
    p.add_argument("--setting", type=int, default=None, help="search setting index of the run (default: the first "
                                                             "with that model)")
    p.add_argument("--constraint", default="",
                   help="e.g. 'precision>=0.8', 'returned<=5', 'recall>=0.9', several joined by commas")
    p.add_argument("--objective", default=None,
                   help="max-ndcg, max-recall, max-precision or min-returned (default: from the constraint)")
    p.add_argument("--relevant-from", type=int, default=1, help="lowest grade counted as relevant (default 1)")
    p.add_argument("--chart", type=Path, help="also save the reliability chart of the ordering cut (--model) here "
                                               "(PNG)")


def main(args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from rerank_playground import cutoff_charts
    from rerank_playground.errors import InvalidInput
    from rerank_playground.evaluation import cutoff

    constraints = cutoff.parse_constraints(args.constraint)  # bad input fails before the store is opened
    if not 0 <= args.relevant_from <= 3:
        raise InvalidInput(f"--relevant-from is a grade from 0 to 3 (got {args.relevant_from}).")
    store = open_store(args)
    try:
        record = store.get_run(args.run_id)
        results = store.load_results(args.run_id)
    finally:
        store.close()
    available, notes = cutoff.model_lists(record, results)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    lists = cutoff.find_lists(available, args.model, args.setting)
    choice = cutoff.choose_cut(lists, constraints, objective=args.objective, relevant_from=args.relevant_from)
    print("\n".join(cutoff.describe_choice(choice)))
    if args.chart is not None:
        from rerank_playground.presentation.snapshot import chart_png

        figure = cutoff_charts.cli_reliability_chart(record, lists, relevant_from=args.relevant_from)
        args.chart.parent.mkdir(parents=True, exist_ok=True)
        args.chart.write_bytes(chart_png(figure, width=1400))
        print(f"reliability chart of {lists.ordering}: {args.chart}", file=sys.stderr)
    return EXIT_CHOSEN if choice.feasible else EXIT_NONE_MEETS
