"""The measurements of docs/quality.md: every baseline, tuned, on ML-100K and The Complete Journey.

Run after `scripts/fetch_quality_data.py` (both are `make quality`):

    python -m recoms.evaluation.suite [--data data/quality] [--only ml-100k/leave_last_out]

Each run writes `<data>/results/<dataset>.<protocol>.json` and `.md`; `tables.md` gathers the tables.
Platform algorithms are measured once they exist; until then their rows read "pending".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from recoms.evaluation.algorithms import UnknownAlgorithm, default_algorithms, resolve
from recoms.evaluation.data import Dataset, load_dataset
from recoms.evaluation.report import markdown, print_table, write_json
from recoms.evaluation.runner import evaluate

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


def run(data_dir: Path, only: set[str] | None = None, k: int = 10) -> list[str]:
    """Every run of RUNS (or those named in `only`); returns their Markdown tables."""
    console = Console(stderr=True)
    results = data_dir / "results"
    loaded: dict[str, Dataset] = {}
    tables = []
    for dataset, protocol in RUNS:
        if only and f"{dataset}/{protocol}" not in only:
            continue
        if dataset not in loaded:
            folder = data_dir / dataset
            loaded[dataset] = load_dataset(folder / "interactions.csv", folder / "items.csv")
        platform = PLATFORM.get(protocol, PLATFORM_DEFAULT)
        present = [name for name in platform if _exists(name)]
        started = time.perf_counter()
        evaluation = evaluate(
            loaded[dataset], protocol, k, [*default_algorithms(protocol), *present], tune=True, name=dataset,
            progress=lambda line: console.print(f"[dim]{time.strftime('%H:%M:%S')} {line}[/dim]"),
        )
        print_table(evaluation, console)
        console.print(f"{dataset} {protocol}: {time.perf_counter() - started:.0f} s")
        stem = f"{dataset}.{protocol}"
        write_json(evaluation, results / f"{stem}.json")
        table = f"### {dataset} · {protocol}\n\n" + markdown(
            evaluation, pending=tuple(name for name in platform if name not in present)
        ) + f"\n\nTotal run time: {evaluation.seconds:.0f} s.\n"
        (results / f"{stem}.md").write_text(table)
        tables.append(table)
    written = [results / f"{d}.{p}.md" for d, p in RUNS if (results / f"{d}.{p}.md").exists()]
    (results / "tables.md").write_text("\n".join(path.read_text() for path in written))
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the baselines of docs/quality.md.")
    parser.add_argument("--data", type=Path, default=Path("data/quality"))
    parser.add_argument("--only", action="append", help="dataset/protocol, e.g. ml-100k/leave_last_out")
    args = parser.parse_args()
    run(args.data, set(args.only) if args.only else None)


if __name__ == "__main__":
    main()
