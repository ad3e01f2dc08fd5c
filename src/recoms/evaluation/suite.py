"""The measurements of docs/quality.md: every baseline, tuned, on ML-100K and The Complete Journey.

Run after `scripts/fetch_quality_data.py` (both are `make quality`):

    python -m recoms.evaluation.suite [--data data/quality] [--only ml-100k/leave_last_out]
        [--algorithms personal] [--tables-only]

Each run writes `<data>/results/<dataset>.<protocol>.json` and `.md`; `tables.md` gathers the tables
(`--tables-only` re-renders them from the JSON). Platform algorithms are measured once they exist; until
then their rows read "pending". `--algorithms` refreshes some rows without measuring the rest again.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from recoms.evaluation.algorithms import UnknownAlgorithm, default_algorithms, resolve
from recoms.evaluation.data import Dataset, load_dataset
from recoms.evaluation.report import from_json, markdown, print_table, write_json
from recoms.evaluation.runner import Evaluation, evaluate

RUNS = [
    ("ml-100k", "leave_last_out"),
    ("ml-100k", "random_80_20"),
    ("complete-journey", "last_basket_repeat"),
    ("complete-journey", "last_basket_new"),
    ("complete-journey", "basket_completion"),
]
# The platform algorithms each protocol is meant for.
PLATFORM = {"basket_completion": ("also_bought", "cross_sell")}
PLATFORM_DEFAULT = ("personal",)


def _exists(name: str) -> bool:
    try:
        resolve(name)
    except UnknownAlgorithm:
        return False
    return True


def _table(evaluation: Evaluation) -> str:
    platform = PLATFORM.get(evaluation.protocol, PLATFORM_DEFAULT)
    measured = {r.name for r in evaluation.results}
    rows = markdown(evaluation, pending=tuple(name for name in platform if name not in measured))
    title = f"### {evaluation.dataset} · {evaluation.protocol}"
    return f"{title}\n\n{rows}\n\nTotal run time: {evaluation.seconds:.0f} s.\n"


def _algorithms(protocol: str) -> list[str]:
    """The baselines of a protocol and the platform algorithms meant for it that exist."""
    platform = [name for name in PLATFORM.get(protocol, PLATFORM_DEFAULT) if _exists(name)]
    return [*default_algorithms(protocol), *platform]


def _merge(saved: Evaluation, fresh: Evaluation) -> Evaluation:
    """`saved` with the rows of `fresh` replacing those of the same algorithm (new ones appended)."""
    by_name = {r.name: r for r in fresh.results}
    replaced = sum(r.seconds for r in saved.results if r.name in by_name)
    results = [by_name.pop(r.name, r) for r in saved.results] + list(by_name.values())
    return replace(saved, results=results, seconds=saved.seconds - replaced + fresh.seconds)


def run(data_dir: Path, only: set[str] | None = None, algorithms: set[str] | None = None, k: int = 10) -> None:
    """Every run of RUNS (or those named in `only`), each saved as JSON.

    With `algorithms`, only those are measured (where they belong) and merged into the saved results:
    a platform algorithm's rows are refreshed without measuring the baselines again.
    """
    console = Console(stderr=True)
    loaded: dict[str, Dataset] = {}
    for dataset, protocol in RUNS:
        names = [name for name in _algorithms(protocol) if not algorithms or name in algorithms]
        if (only and f"{dataset}/{protocol}" not in only) or not names:
            continue
        if dataset not in loaded:
            folder = data_dir / dataset
            loaded[dataset] = load_dataset(folder / "interactions.csv", folder / "items.csv")
        evaluation = evaluate(
            loaded[dataset], protocol, k, names, tune=True, name=dataset, shop=True,
            progress=lambda line: console.print(f"[dim]{time.strftime('%H:%M:%S')} {line}[/dim]"),
        )
        print_table(evaluation, console)
        saved = data_dir / "results" / f"{dataset}.{protocol}.json"
        if algorithms and saved.exists():
            evaluation = _merge(from_json(json.loads(saved.read_text())), evaluation)
        write_json(evaluation, saved)


def summary(evaluations: list[Evaluation]) -> str:
    """Per run: each platform algorithm as a shop gets it and tuned by hand, against the best tuned baseline."""
    head = ["run", "algorithm", "NDCG@10 as a shop gets it", "tuned", "best tuned baseline", "margin"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for evaluation in evaluations:
        platform = PLATFORM.get(evaluation.protocol, PLATFORM_DEFAULT)
        baselines = [r for r in evaluation.results if r.name not in platform]
        if not baselines:
            continue
        best = max(baselines, key=lambda r: r.metrics["ndcg"])
        for result in evaluation.results:
            if result.name not in platform or not result.shop:
                continue
            shop = result.shop["metrics"]["ndcg"]
            margin = shop / best.metrics["ndcg"] - 1 if best.metrics["ndcg"] else 0.0
            lines.append(f"| {evaluation.dataset} · {evaluation.protocol} | {result.name} | {shop:.4f} | "
                         f"{result.metrics['ndcg']:.4f} | {best.name} {best.metrics['ndcg']:.4f} | {margin:+.1%} |")
    return "\n".join(lines)


def write_tables(data_dir: Path) -> str:
    """`<dataset>.<protocol>.md` for every saved run, and `tables.md` gathering them in RUNS order."""
    tables, evaluations = [], []
    for dataset, protocol in RUNS:
        saved = data_dir / "results" / f"{dataset}.{protocol}.json"
        if saved.exists():
            evaluation = from_json(json.loads(saved.read_text()))
            evaluations.append(evaluation)
            table = _table(evaluation)
            saved.with_name(f"{dataset}.{protocol}.md").write_text(table)
            tables.append(table)
    text = "\n".join([summary(evaluations) + "\n", *tables]) if any(
        r.shop for e in evaluations for r in e.results) else "\n".join(tables)
    (data_dir / "results" / "tables.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the baselines of docs/quality.md.")
    parser.add_argument("--data", type=Path, default=Path("data/quality"))
    parser.add_argument("--only", action="append", help="dataset/protocol, e.g. ml-100k/leave_last_out")
    parser.add_argument("--algorithms", help="comma-separated: measure only these, merged into the saved results")
    parser.add_argument("--tables-only", action="store_true", help="re-render the tables from saved results")
    args = parser.parse_args()
    if not args.tables_only:
        chosen = {name.strip() for name in args.algorithms.split(",")} if args.algorithms else None
        run(args.data, set(args.only) if args.only else None, chosen)
    print(write_tables(args.data))


if __name__ == "__main__":
    main()
