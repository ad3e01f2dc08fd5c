"""The `recoms` command: serve, demo, accounts and keys, feeds, events, training, data sources, evaluation.

Every command reads the same `RECOMS_*` settings and brings the database schema up to date first.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

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
    workers: Annotated[int, typer.Option(min=1, help="HTTP worker processes (one per core)")] = 1,
) -> None:
    """Serve the HTTP API (granian; RECOMS_HTTP_* settings bound what a client may hold).

    The workers only serve; the background jobs (training, feed pulls) run in one process of their own,
    unless RECOMS_JOBS=false (API replicas, when one `recoms jobs` runs them for all)."""
    import subprocess

    from recoms.api.server import serve as run_server
    from recoms.store.db import make_engine, migrate

    settings = get_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)  # once, before the processes that would all try
    engine.dispose()
    runner = None
    if settings.jobs:
        command = [sys.executable, "-m", "recoms", "jobs", "--parent", str(os.getpid())]
        runner = subprocess.Popen(command)  # noqa: S603 - our own interpreter and module
    os.environ["RECOMS_JOBS"] = "false"  # for the workers: forked from here, they read their settings anew
    get_settings.cache_clear()
    try:
        run_server(settings, host or settings.host, port or settings.port, workers)
    finally:
        if runner is not None:
            runner.terminate()
            runner.wait(30)


@app.command()
def jobs(
    parent: Annotated[int | None, typer.Option(help="stop when this process is gone (set by `recoms serve`)")] = None,
) -> None:
    """Run the background jobs only, no HTTP: first training and retraining, feed pulls, token purge."""
    import signal
    import threading

    from recoms.services.jobs import Jobs
    from recoms.services.platform import build_platform

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runner = Jobs(build_platform(get_settings()))
    runner.start()
    try:
        while not stop.wait(1.0):
            if parent is not None and os.getppid() != parent:  # recoms serve was killed: do not outlive it
                break
    finally:
        runner.stop()


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
    allow_private: Annotated[bool, typer.Option(
        "--allow-private", help="let this URL reach loopback, private and link-local addresses")] = False,
) -> None:
    """Import a product feed (Google Merchant XML/Atom/TSV/CSV or YML)."""
    from recoms.services.feeds import import_location
    from recoms.services.fetch import FetchPolicy

    platform = _platform()
    # The operator may fetch from the shop's own network; the API only does when the setting says so.
    policy = FetchPolicy.from_settings(platform.settings, allow_private=allow_private or None)
    try:
        report = import_location(platform.engine, _account_id(platform, account), location, not partial, fmt,
                                 policy)
    except RecomsError as exc:
        _fail(exc.detail)
    _print(report.to_json())


@events_app.command("import")
def events_import(
    file: Annotated[Path, typer.Argument(help="JSON lines: one tracker envelope (or mobile event) per line")],
    account: Annotated[int | None, typer.Option(help="account id")] = None,
    mobile: Annotated[bool, typer.Option(help="the lines are mobile events")] = False,
    progress: Annotated[bool, typer.Option(help="print lines done and seconds taken to stderr as it goes")] = False,
) -> None:
    """Import historical events through the same validation as the tracking API, streamed in chunks (one
    transaction each)."""
    from recoms.services.event_import import import_file

    if not file.is_file():
        _fail(f"no file at {file}")
    platform = _platform()
    every = [100_000]

    def report(lines: int, seconds: float) -> None:
        if lines >= every[0]:
            typer.echo(f"{lines} lines, {seconds:.2f} s", err=True)
            every[0] = lines - lines % 100_000 + 100_000

    totals = import_file(platform.engine, _account_id(platform, account), file, "mobile" if mobile else "web",
                         report if progress else None)
    _print(totals)


@app.command()
def train(
    account: Annotated[int | None, typer.Option(help="only this account")] = None,
    tune: Annotated[bool, typer.Option(help="tune on the shop's own newest orders (--no-tune: the defaults "
                                            "for the kind of shop)")] = True,
) -> None:
    """Fit every algorithm on the stored events and write a snapshot (a running serve picks it up).

    Prints what tuning chose per algorithm and its held-out figures (stderr), then the snapshots (JSON).
    """
    from recoms.training.quality import lines
    from recoms.training.train import train_all

    platform = _platform()
    s = platform.settings
    trained = train_all(platform.engine, s.artifacts_path, s.training_window_days, account,
                        s.tuning_time_factor if tune else 0.0)
    for meta in trained:
        typer.echo("\n".join(lines(meta)), err=True)
    _print(trained)


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


contact_app = typer.Typer(help="Contacts: export, erase, undo a merge.", no_args_is_help=True)
app.add_typer(contact_app, name="contact")

ContactId = Annotated[int | None, typer.Option("--contact-id", help="the contact's id")]
ExternalId = Annotated[str | None, typer.Option("--external-id", help="its externalCustomerId")]
Email = Annotated[str | None, typer.Option(help="its email")]
Phone = Annotated[str | None, typer.Option(help="its phone")]
PseudoId = Annotated[str | None, typer.Option("--pseudo-id", help="its userPseudoId (device / Firebase id)")]
Cookie = Annotated[str | None, typer.Option(help="its sc cookie")]


def _contact(platform, account_id: int, contact_id: int | None, fields: dict[str, str | None]) -> int:
    """A contact by id or by any (verified) identifier."""
    from recoms.services.contacts import find_contact, identifiers_from_query

    if contact_id is not None:
        return contact_id
    return find_contact(platform.engine, account_id, identifiers_from_query(fields))


def _fields(external_id, email, phone, pseudo_id, cookie) -> dict[str, str | None]:
    return {"externalCustomerId": external_id, "email": email, "phone": phone, "userPseudoId": pseudo_id,
            "cookie": cookie}


@contact_app.command("export")
def contact_export(account: Annotated[int | None, typer.Option(help="account id")] = None,
                   contact_id: ContactId = None, external_id: ExternalId = None, email: Email = None,
                   phone: Phone = None, pseudo_id: PseudoId = None, cookie: Cookie = None) -> None:
    """Everything stored about a person, as JSON: identifiers (with their trust), attributes, events,
    interactions, orders, cart, merges and claims."""
    from recoms.services.contacts import export_contact

    platform = _platform()
    account_id = _account_id(platform, account)
    try:
        found = _contact(platform, account_id, contact_id, _fields(external_id, email, phone, pseudo_id, cookie))
        _print(export_contact(platform.engine, account_id, found))
    except RecomsError as exc:
        _fail(exc.detail)


@contact_app.command("erase")
def contact_erase(account: Annotated[int | None, typer.Option(help="account id")] = None,
                  contact_id: ContactId = None, external_id: ExternalId = None, email: Email = None,
                  phone: Phone = None, pseudo_id: PseudoId = None, cookie: Cookie = None) -> None:
    """Forget a person: identifiers, events, cart, tokens, claims and merges; purchases stay, linked to
    nobody, and the next training no longer ties them to the person."""
    from recoms.services.contacts import erase_contact

    platform = _platform()
    account_id = _account_id(platform, account)
    try:
        found = _contact(platform, account_id, contact_id, _fields(external_id, email, phone, pseudo_id, cookie))
        _print({"id": erase_contact(platform.engine, account_id, found), "erased": True})
    except RecomsError as exc:
        _fail(exc.detail)


@contact_app.command("unmerge")
def contact_unmerge(account: Annotated[int | None, typer.Option(help="account id")] = None,
                    merge_id: Annotated[int | None, typer.Option("--merge-id", help="the merge's id")] = None,
                    contact_id: Annotated[int | None, typer.Option("--contact-id", help="the merged-away contact")]
                    = None, external_id: ExternalId = None, email: Email = None, phone: Phone = None,
                    pseudo_id: PseudoId = None, cookie: Cookie = None) -> None:
    """Undo a recorded merge (by its id, the merged-away contact, or an identifier that came from it):
    identifiers and rows go back to the contact they came from."""
    from recoms.services.contacts import identifiers_from_query, unmerge

    platform = _platform()
    account_id = _account_id(platform, account)
    fields = _fields(external_id, email, phone, pseudo_id, cookie)
    try:
        ids = identifiers_from_query(fields) if merge_id is None and contact_id is None else None
        _print(unmerge(platform.engine, account_id, merge_id=merge_id, contact_id=contact_id, ids=ids))
    except RecomsError as exc:
        _fail(exc.detail)


@contact_app.command("merges")
def contact_merges(account: Annotated[int | None, typer.Option(help="account id")] = None,
                   contact_id: ContactId = None, external_id: ExternalId = None, email: Email = None,
                   phone: Phone = None, pseudo_id: PseudoId = None, cookie: Cookie = None) -> None:
    """The merges a contact took part in (their ids are what `contact unmerge --merge-id` takes)."""
    from recoms.services.contacts import contact_merges as merges_of

    platform = _platform()
    account_id = _account_id(platform, account)
    try:
        found = _contact(platform, account_id, contact_id, _fields(external_id, email, phone, pseudo_id, cookie))
        _print(merges_of(platform.engine, account_id, found))
    except RecomsError as exc:
        _fail(exc.detail)


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
