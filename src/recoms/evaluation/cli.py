"""The offline commands: `recoms offline recommend` (offline_app) and `recoms evaluate` (evaluate_command).

Bad input (a missing column, an unknown algorithm, malformed JSON) is a usage error: a one-line message
naming the option and exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from recoms.evaluation.algorithms import (
    UnknownAlgorithm,
    default_algorithms,
    instantiate,
    parse_params,
    parse_params_per_algorithm,
    resolve,
)
from recoms.evaluation.data import DataError, load_dataset
from recoms.evaluation.offline import recommend_offline
from recoms.evaluation.report import print_table, write_json
from recoms.evaluation.runner import evaluate
from recoms.evaluation.splits import PROTOCOLS
from recoms.settings import get_settings
from recoms.training.tuning import Report

offline_app = typer.Typer(help="Batch recommendations from files, without a server.", no_args_is_help=True)


@contextmanager
def _usage_errors(hint: str | None = None) -> Iterator[None]:
    """Turn the loaders' and parsers' errors into click usage errors (exit code 2)."""
    try:
        yield
    except UnknownAlgorithm as exc:
        raise typer.BadParameter(str(exc), param_hint="--algorithm(s)") from exc
    except (DataError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from exc


def tuning_line(report: Report) -> str:
    """One line: what tuning chose and how it did on the held-out orders, next to popularity and buying again."""
    chosen = ", ".join(f"{k}={v}" for k, v in sorted(report.chosen.items()) if k not in report.explicit)
    given = ", ".join(f"{k}={v}" for k, v in sorted(report.explicit.items()))
    text = f"{report.algorithm}: {report.status} ({report.note}): {chosen or 'the defaults'}"
    text += f" (given: {given})" if given else ""
    figures = report.figures
    if figures:
        shown = [f"{label} NDCG@10 {figures[key]['ndcg']:.4f}" for key, label in
                 (("chosen", "held out"), ("popularity", "popularity"), ("buy_again", "buy again")) if key in figures]
        text += f"; {report.holdout}: " + ", ".join(shown)
    return text + f" ({report.seconds:.0f}s)"


@offline_app.command("recommend")
def recommend_command(
    interactions: Annotated[Path, typer.Option(
        exists=True, dir_okay=False, help="CSV or Parquet: user_id,item_id[,timestamp,basket_id,quantity,event]",
    )],
    algorithm: Annotated[str, typer.Option(help="a platform algorithm or a baseline (see `recoms evaluate`)")],
    out: Annotated[Path, typer.Option(help="CSV written: user_id (or query_id),item_id,rank")],
    users: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="one user id per line")] = None,
    context: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="CSV query_id,item_id: the cart of each query",
    )] = None,
    items: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="CSV or Parquet: item_id[,name,brand,category,price,in_stock]",
    )] = None,
    params: Annotated[str | None, typer.Option(help="the algorithm's parameters as a JSON object")] = None,
    k: Annotated[int, typer.Option(min=1, help="recommendations per user or query")] = 10,
    include_seen: Annotated[bool, typer.Option(help="also recommend items the user (or cart) has")] = False,
    tune: Annotated[bool, typer.Option(help="a platform algorithm tunes itself on the file's newest orders, as a "
                                            "shop's training does (--no-tune: its raw defaults)")] = True,
) -> None:
    """Fit one algorithm on the interactions and write the top K for each user (or each cart)."""
    if (users is None) == (context is None):
        raise typer.BadParameter("give exactly one of --users and --context", param_hint="--users / --context")
    with _usage_errors("--params"):
        parsed = parse_params(params)
        instantiate(algorithm, parsed)
    with _usage_errors():
        run = recommend_offline(
            interactions, algorithm, k, out, items=items, params=parsed, users=users, contexts=context,
            include_seen=include_seen, tune=tune, time_factor=get_settings().tuning_time_factor,
        )
    rate = run.queries / max(run.score_seconds, 1e-9)
    if run.tuning is not None:
        Console(stderr=True).print(tuning_line(run.tuning), highlight=False)
    Console(stderr=True).print(
        f"{run.rows} recommendations for {run.queries} {'users' if users else 'queries'} -> {out} "
        f"(fit {run.fit_seconds:.1f}s, scoring {run.score_seconds:.1f}s = {rate:,.0f}/s"
        + (f"; {run.unknown} unknown {'users' if users else 'context items'}" if run.unknown else "") + ")"
    )


def evaluate_command(
    interactions: Annotated[Path, typer.Option(
        exists=True, dir_okay=False, help="CSV or Parquet: user_id,item_id[,timestamp,basket_id,quantity,event]",
    )],
    protocol: Annotated[str, typer.Option(help=" | ".join(PROTOCOLS))],
    items: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="the catalog file")] = None,
    k: Annotated[int, typer.Option(min=1, help="length of the ranked lists")] = 10,
    algorithms: Annotated[str | None, typer.Option(help="comma-separated; default: the baselines")] = None,
    params: Annotated[str | None, typer.Option(help='JSON per algorithm: {"als": {"factors": 64}}')] = None,
    tune: Annotated[bool | None, typer.Option(
        "--tune/--no-tune", help="--tune: tune each algorithm's declared grid on the validation fold (by hand); "
        "default: platform algorithms tune themselves on the training data's newest orders, as a shop's training "
        "does; --no-tune: raw defaults")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the results as JSON")] = None,
    seed: Annotated[int, typer.Option(help="seed of the random splits")] = 0,
) -> None:
    """Score algorithms offline on a held-out split: HR, Recall, NDCG and coverage at K."""
    if protocol not in PROTOCOLS:
        raise typer.BadParameter(f"expected one of {', '.join(PROTOCOLS)}", param_hint="--protocol")
    names = [a.strip() for a in algorithms.split(",") if a.strip()] if algorithms else default_algorithms(protocol)
    with _usage_errors("--params"):
        for name in names:
            resolve(name)
        per_algorithm = parse_params_per_algorithm(params, names)
    progress = Console(stderr=True)
    with _usage_errors():
        data = load_dataset(interactions, items)
        result = evaluate(
            data, protocol, k, names, per_algorithm, tune=tune, seed=seed, name=interactions.parent.name,
            progress=lambda line: progress.print(f"[dim]{line}[/dim]"),
        )
    print_table(result)
    if json_out is not None:
        write_json(result, json_out)
