"""An evaluation as a readable table (terminal), as JSON (machines) and as Markdown (docs/quality.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from recoms.evaluation.runner import AlgorithmResult, Evaluation, Trial

METRICS = ("hr", "recall", "ndcg", "coverage")
LABELS = {"hr": "HR", "recall": "Recall", "ndcg": "NDCG", "coverage": "Coverage"}


def _short(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())


def _chosen(result: AlgorithmResult) -> str:
    """The tuned parameters (the grid's keys) as chosen, and the model's note; '—' when nothing was tuned."""
    tuned = {key: result.params[key] for key in result.trials[0].params} if result.trials else {}
    text = _short(tuned) or "—"
    return f"{text} ({result.note})" if result.note else text


def table(evaluation: Evaluation) -> Table:
    """Metrics per algorithm; the parameters measured with go in the caption (they are long)."""
    s = evaluation.stats
    title = (
        f"{evaluation.dataset or 'dataset'} · {evaluation.protocol} · K={evaluation.k} · "
        f"{s['users']} users, {s['items']} items, {s['interactions']} interactions · "
        f"{s['test_queries']} test queries"
    )
    caption = "\n".join(
        f"{r.name}: {_chosen(r) if r.trials else _short(r.params)}" for r in evaluation.results if r.params
    )
    out = Table(title=title, caption=caption, caption_justify="left")
    out.add_column("algorithm", style="bold", no_wrap=True)
    for metric in METRICS:
        out.add_column(f"{LABELS[metric]}@{evaluation.k}", justify="right")
    out.add_column("seconds", justify="right")
    for result in evaluation.results:
        out.add_row(result.name, *(f"{result.metrics[m]:.4f}" for m in METRICS), f"{result.seconds:.1f}")
    return out


def print_table(evaluation: Evaluation, console: Console | None = None) -> None:
    (console or Console()).print(table(evaluation))


def to_json(evaluation: Evaluation) -> dict[str, Any]:
    return asdict(evaluation)


def from_json(data: dict[str, Any]) -> Evaluation:
    """An evaluation saved by `write_json`, back as objects (to re-render its tables)."""
    results = [
        AlgorithmResult(**{**r, "trials": [Trial(**t) for t in r.get("trials", [])]}) for r in data["results"]
    ]
    return Evaluation(**{**data, "results": results})


def write_json(evaluation: Evaluation, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(to_json(evaluation), indent=2) + "\n")


def markdown(evaluation: Evaluation, pending: tuple[str, ...] = ()) -> str:
    """A Markdown table of the test figures; `pending` rows are placeholders for algorithms to come.

    A platform algorithm measured "as a shop gets it" (no hand tuning) has that NDCG in its own column,
    and a line under the table says what its training chose.
    """
    k = evaluation.k
    head = ["algorithm", *(f"{LABELS[m]}@{k}" for m in METRICS), f"NDCG@{k} as a shop gets it", "tuned params",
            "run time (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    notes = []
    for result in evaluation.results:
        metrics = (f"{result.metrics[m]:.4f}" for m in METRICS)
        shop = f"{result.shop['metrics']['ndcg']:.4f}" if result.shop else "—"
        lines.append("| " + " | ".join([result.name, *metrics, shop, _chosen(result), f"{result.seconds:.1f}"]) + " |")
        if result.shop:
            notes.append(shop_line(result.name, result.shop, k))
    for name in pending:
        lines.append("| " + " | ".join([f"{name} — pending", *["—"] * (len(head) - 1)]) + " |")
    return "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")


def shop_line(name: str, shop: dict[str, Any], k: int) -> str:
    """What a shop's training chose for `name` on the fold's training data, and the test figures it got."""
    m = shop["metrics"]
    held = shop.get("held_out", {})
    against = ", ".join(f"{label} {held[key]['ndcg']:.4f}" for key, label in
                        (("chosen", "chosen"), ("popularity", "popularity"), ("buy_again", "buy again"))
                        if key in held)
    return (f"- {name} as a shop gets it: HR@{k} {m['hr']:.4f}, Recall@{k} {m['recall']:.4f}, NDCG@{k} "
            f"{m['ndcg']:.4f}, Coverage@{k} {m['coverage']:.4f}; {shop['status']} ({shop['note']}): "
            f"{_short(shop['params']) or 'the class defaults'}"
            + (f"; held-out NDCG@{k} {against}" if against else "")
            + f"; fit and tuning {shop['fit_seconds']:.0f} s")
