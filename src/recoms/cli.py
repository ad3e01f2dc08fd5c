"""The `recoms` command: serve, demo, accounts and keys, feeds, events, training, data sources, evaluation.

Every command reads the same `RECOMS_*` settings and brings the database schema up to date first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from recoms.errors import RecomsError
from recoms.settings import Settings, get_settings

app = typer.Typer(help="recoms: product recommendations for online shops and their mobile apps.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
account_app = typer.Typer(help="Accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
feed_app = typer.Typer(help="Product feeds.", no_args_is_help=True)
events_app = typer.Typer(help="Activity events.", no_args_is_help=True)
datasource_app = typer.Typer(help="Data sources.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(apikey_app, name="apikey")
app.add_typer(feed_app, name="feed")
app.add_typer(events_app, name="events")
app.add_typer(datasource_app, name="datasource")

EVENT_BATCH = 1000


def _platform():
    from recoms.services.platform import build_platform

    return build_platform(get_settings())


def _print(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _account_id(platform, account: int | None) -> int:
    from recoms.store.accounts import get_account, list_accounts

    with platform.engine.connect() as conn:
        if account is None:
            accounts = list_accounts(conn)
            if len(accounts) != 1:
                _fail("give --account ID (there is not exactly one account)")
            return accounts[0].id
        if get_account(conn, account) is None:
            _fail(f"account {account} does not exist")
    return account


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface (default RECOMS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default RECOMS_PORT)")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = get_settings()
    if workers > 1:
        uvicorn.run("recoms.api.asgi:app", host=host or settings.host, port=port or settings.port,
                    workers=workers, log_level=settings.log_level, access_log=False)
        return
    from recoms.api.app import create_app

    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port,
                log_level=settings.log_level, access_log=False)


@account_app.command("create")
def account_create(
    name: str,
    plan: Annotated[str, typer.Option(help="extra (with recommendations) or basic")] = "extra",
) -> None:
    """Create an account; prints its id, an admin API key (shown once) and its public site id."""
    from recoms.services.accounts import create_account

    try:
        _print(create_account(_platform().engine, name, plan))
    except ValueError as exc:
        _fail(str(exc))


@account_app.command("list")
def account_list() -> None:
    from recoms.store.accounts import list_accounts

    with _platform().engine.connect() as conn:
        _print([{"account_id": a.id, "name": a.name, "plan": a.plan, "site_id": a.site_id}
                for a in list_accounts(conn)])


@apikey_app.command("create")
def apikey_create(
    account: Annotated[int, typer.Option(help="account id")],
    scopes: Annotated[str, typer.Option(help="comma-separated scopes, e.g. contacts:token,recoms:read")] = "admin",
    name: Annotated[str, typer.Option(help="a label")] = "",
) -> None:
    """Create an API key with scopes; the key is printed once and stored only as a hash."""
    from recoms.services.accounts import create_key

    try:
        _print(create_key(_platform().engine, account, [s.strip() for s in scopes.split(",") if s.strip()], name))
    except (ValueError, RecomsError) as exc:
        _fail(str(exc))


@apikey_app.command("revoke")
def apikey_revoke(
    account: Annotated[int, typer.Option(help="account id")],
    key_id: Annotated[int, typer.Option("--id", help="the key's id (printed when it was created)")],
) -> None:
    """Revoke an API key: it stops working within seconds on every server."""
    from recoms.store.accounts import revoke_api_key

    with _platform().engine.begin() as conn:
        if not revoke_api_key(conn, account, key_id):
            _fail(f"account {account} has no active key {key_id}")
    _print({"revoked": key_id})


@feed_app.command("import")
def feed_import(
    location: Annotated[str, typer.Argument(help="a feed file or an http(s) URL")],
    account: Annotated[int | None, typer.Option(help="account id")] = None,
    partial: Annotated[bool, typer.Option(help="do not mark products missing from the feed unavailable")] = False,
    fmt: Annotated[str | None, typer.Option("--format", help="gmc_xml, gmc_atom, gmc_tsv, gmc_csv or yml")] = None,
) -> None:
    """Import a product feed (Google Merchant XML/Atom/TSV/CSV or YML)."""
    from recoms.services.feeds import import_location

    platform = _platform()
    s = platform.settings
    try:
        report = import_location(platform.engine, _account_id(platform, account), location, not partial, fmt,
                                 s.max_feed_bytes, s.feed_fetch_timeout_seconds)
    except RecomsError as exc:
        _fail(exc.detail)
    _print(report.to_json())


def import_event_lines(platform, account_id: int, path: Path, form: str) -> dict:
    """JSON lines, one event each, ingested in batches through the tracking service."""
    from recoms.services.tracking import ingest

    totals = {"accepted": 0, "errors": [], "duplicates": 0, "lines": 0}
    batch: list = []
    offset = 0

    def flush() -> None:
        result = ingest(platform.engine, account_id, batch, "import", form)
        totals["accepted"] += result.accepted
        totals["duplicates"] += len(result.duplicates)
        for err in result.errors[: max(0, 100 - len(totals["errors"]))]:
            totals["errors"].append({"line": offset + err["index"] + 1, "reason": err["reason"]})
        batch.clear()

    with path.open("rb") as fh:
        for number, line in enumerate(fh):
            if not line.strip():
                continue
            totals["lines"] += 1
            try:
                batch.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                batch.append({"_invalid": f"line {number + 1} is not JSON: {exc}"})
            if len(batch) >= EVENT_BATCH:
                flush()
                offset = number + 1
        if batch:
            flush()
    return totals


@events_app.command("import")
def events_import(
    file: Annotated[Path, typer.Argument(help="JSON lines: one tracker envelope (or mobile event) per line")],
    account: Annotated[int | None, typer.Option(help="account id")] = None,
    mobile: Annotated[bool, typer.Option(help="the lines are mobile events")] = False,
) -> None:
    """Import historical events through the same validation as the tracking API."""
    if not file.is_file():
        _fail(f"no file at {file}")
    platform = _platform()
    _print(import_event_lines(platform, _account_id(platform, account), file, "mobile" if mobile else "web"))


@app.command()
def train(account: Annotated[int | None, typer.Option(help="only this account")] = None) -> None:
    """Fit every algorithm on the stored events and write a snapshot (a running serve picks it up)."""
    from recoms.training.train import train_all

    platform = _platform()
    s = platform.settings
    _print(train_all(platform.engine, s.artifacts_path, s.training_window_days, account))


@datasource_app.command("create")
def datasource_create(
    name: str,
    algorithm: Annotated[str, typer.Option(help="similar, also_bought, bestsellers, ...")],
    account: Annotated[int | None, typer.Option(help="account id")] = None,
    size: Annotated[int, typer.Option(help="products per response, 1-100")] = 10,
    params: Annotated[str, typer.Option(help="JSON object")] = "{}",
    rules: Annotated[str, typer.Option(help="JSON array of rules")] = "[]",
) -> None:
    """Create a data source; prints it with its id."""
    platform = _platform()
    try:
        body = {"name": name, "algorithm": algorithm, "size": size, "params": json.loads(params),
                "rules": json.loads(rules)}
        _print(platform.datasources.create(_account_id(platform, account), body).to_json())
    except json.JSONDecodeError as exc:
        _fail(f"params/rules are not JSON: {exc}")
    except RecomsError as exc:
        _fail(exc.detail)


@datasource_app.command("list")
def datasource_list(account: Annotated[int | None, typer.Option(help="account id")] = None) -> None:
    platform = _platform()
    _print([ds.to_json() for ds in platform.datasources.list(_account_id(platform, account))])


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve when loaded")] = True,
    seed: Annotated[int, typer.Option(help="random seed of the generated shop")] = 7,
) -> None:
    """Generate a believable shop, load it through the feed and tracking paths, train, and serve."""
    from recoms.demo import load_demo

    settings = get_settings()
    info = load_demo(settings, seed=seed, echo=typer.echo)
    typer.echo(info["instructions"])
    if serve_after:
        serve(host=settings.host, port=settings.port)


def _mount_evaluation() -> None:
    try:
        from recoms.evaluation.cli import evaluate_command, offline_app
    except ImportError:  # evaluation extras missing: the rest of the CLI still works
        return
    app.add_typer(offline_app, name="offline", help="Offline recommendations from files.")
    app.command("evaluate")(evaluate_command)


_mount_evaluation()


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except RecomsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        sys.exit(2)


__all__ = ["Settings", "app", "main"]
