"""Feed import (SPEC §4): stream a feed through its reader into the catalog, item by item.

Bad items are reported and skipped; a full feed marks the products it no longer lists unavailable
(unless the document broke off midway, when we cannot know what it would have listed). Every import
leaves a row in `feed_imports`; an import from a URL is a job whose row says queued, running, done or
failed (`services.feed_jobs` runs them).
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from recoms.catalog import READERS, FeedError, FeedRefused, read_feed, sniff
from recoms.domain.product import Product, too_long
from recoms.errors import BadRequest, NotFound
from recoms.services.fetch import FetchPolicy, check_url, download
from recoms.store import products
from recoms.store.accounts import update_account
from recoms.store.db import now_ms
from recoms.store.tables import feed_imports

BATCH = 1000
MAX_REPORTED_ERRORS = 100
MAX_SOURCE = 2000
INTERRUPTED = "interrupted: the server stopped before the import finished"


@dataclass
class FeedReport:
    format: str | None = None
    items_ok: int = 0
    items_bad: int = 0
    unavailable: int = 0
    complete: bool = True
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "itemsOk": self.items_ok, "itemsBad": self.items_bad,
                "markedUnavailable": self.unavailable, "complete": self.complete, "errors": self.errors}


def import_stream(
    engine: sa.Engine, account_id: int, stream: IO[bytes], source: str, full: bool = True, fmt: str | None = None
) -> FeedReport:
    """Import a feed the caller sent (its own bytes: errors may quote them)."""
    try:
        return _import(engine, account_id, stream, source, full, fmt)
    except FeedRefused as exc:
        raise BadRequest(f"feed refused: {exc}") from None
    except ValueError as exc:  # an unknown format
        raise BadRequest(str(exc)) from None


def import_location(
    engine: sa.Engine, account_id: int, location: str, full: bool = True, fmt: str | None = None,
    policy: FetchPolicy | None = None, job_id: int | None = None, cancel: threading.Event | None = None,
) -> FeedReport:
    """Import a feed from a file path or an http(s) URL (downloaded to a temp file first).

    What a URL's server sent is never quoted in an error: a fetch may have reached a page that is
    not a feed, and its content is nobody's business.
    """
    if location.startswith(("http://", "https://")):
        policy = policy or FetchPolicy()
        with tempfile.TemporaryFile() as tmp:
            download(location, tmp, policy, cancel)
            tmp.seek(0)
            try:
                return _import(engine, account_id, tmp, location, full, fmt, job_id)
            except FeedRefused:
                raise BadRequest(f"the feed at {location} was refused: it declares a DTD, entities or external "
                                 "references") from None
            except ValueError:
                raise BadRequest(f"the document at {location} is not a feed in a format recoms reads "
                                 "(GMC RSS/Atom/TSV/CSV or YML)") from None
    path = Path(location)
    if not path.is_file():
        raise BadRequest(f"no feed file at {location}")
    with path.open("rb") as fh:
        if job_id is None:
            return import_stream(engine, account_id, fh, str(path), full, fmt)
        try:
            return _import(engine, account_id, fh, str(path), full, fmt, job_id)
        except (FeedRefused, ValueError) as exc:
            raise BadRequest(f"the feed at {location} was not imported: {exc}") from None


def _import(
    engine: sa.Engine, account_id: int, stream: IO[bytes], source: str, full: bool, fmt: str | None,
    job_id: int | None = None,
) -> FeedReport:
    report = FeedReport(format=fmt)
    started = now_ms()
    batch: dict[str, Product] = {}

    def flush() -> None:
        with engine.begin() as conn:
            products.upsert_products(conn, account_id, list(batch.values()), feed_seen_at=started if full else None)
        batch.clear()

    if fmt is None:
        fmt, stream = sniff(stream)
    report.format = fmt
    for index, record in enumerate(read_feed(stream, fmt)):
        if isinstance(record, FeedError):
            report.items_bad += 1
            if record.index < 0:
                report.complete = False
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append({"index": record.index, "id": record.item_id, "reason": record.reason})
            continue
        problem = too_long(record)
        if problem:
            report.items_bad += 1
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append({"index": index, "id": record.id[:200], "reason": problem})
            continue
        batch[record.id] = record  # a repeated id: the later entry wins
        report.items_ok += 1
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    with engine.begin() as conn:
        if full and report.complete and report.items_ok:
            report.unavailable = products.mark_missing_unavailable(conn, account_id, started)
        values = {"format": report.format or "auto", "items_ok": report.items_ok, "items_bad": report.items_bad,
                  "errors": report.errors, "finished_at": now_ms(), "status": "done", "error": None}
        if job_id is None:
            conn.execute(feed_imports.insert().values(account_id=account_id, source=source[:MAX_SOURCE], full=full,
                                                      started_at=started, **values))
        else:
            conn.execute(feed_imports.update().where(feed_imports.c.id == job_id).values(**values))
    return report


def check_feed_url(url: object) -> str:
    """A URL an account may ask us to import (400 otherwise); its address is checked when connecting."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise BadRequest("url must be an http(s) URL")
    if len(url) > MAX_SOURCE:
        raise BadRequest(f"url is longer than {MAX_SOURCE} characters")
    check_url(url)
    return url


def check_format(fmt: str | None) -> str | None:
    if fmt is not None and fmt not in READERS:
        raise BadRequest(f"unknown feed format {fmt[:50]!r}; known: {', '.join(sorted(READERS))}")
    return fmt


def schedule_pull(engine: sa.Engine, account_id: int, url: str) -> None:
    """Pull this feed URL on the serve loop's interval from now on."""
    with engine.begin() as conn:
        update_account(conn, account_id, feed_url=url)


# --- import jobs: the rows of feed_imports --------------------------------------------------


def create_job(engine: sa.Engine, account_id: int, source: str, full: bool, fmt: str | None) -> int:
    with engine.begin() as conn:
        return conn.execute(feed_imports.insert().values(
            account_id=account_id, source=source[:MAX_SOURCE], format=fmt or "auto", full=full, items_ok=0,
            items_bad=0, errors=[], started_at=now_ms(), finished_at=None, status="queued",
        )).inserted_primary_key[0]


def start_job(engine: sa.Engine, job_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(feed_imports.update().where(feed_imports.c.id == job_id).values(status="running"))


def fail_job(engine: sa.Engine, job_id: int, error: str) -> None:
    """The job ends with one message (ours, never anything a fetched server sent)."""
    with engine.begin() as conn:
        conn.execute(feed_imports.update().where(feed_imports.c.id == job_id).values(
            status="failed", error=error[:500], finished_at=now_ms()))


def interrupt_jobs(engine: sa.Engine, alive: set[int]) -> int:
    """Jobs left queued or running by a process that is gone end as failed (they never resume)."""
    f = feed_imports.c
    with engine.begin() as conn:
        return conn.execute(feed_imports.update().where(f.status.in_(("queued", "running")), f.id.not_in(alive))
                            .values(status="failed", error=INTERRUPTED, finished_at=now_ms())).rowcount


def _job_json(r, errors_shown: int = MAX_REPORTED_ERRORS) -> dict[str, Any]:
    return {"id": r.id, "status": r.status, "source": r.source, "format": r.format, "full": r.full,
            "itemsOk": r.items_ok, "itemsBad": r.items_bad, "errors": r.errors[:errors_shown], "error": r.error,
            "startedAt": r.started_at, "finishedAt": r.finished_at}


def import_job(engine: sa.Engine, account_id: int, job_id: int) -> dict[str, Any]:
    """One import of this account (404 for another account's)."""
    f = feed_imports.c
    with engine.connect() as conn:
        row = conn.execute(sa.select(feed_imports).where(f.id == job_id, f.account_id == account_id)).first()
    if row is None:
        raise NotFound(f"no feed import {job_id}")
    return _job_json(row)


def recent_imports(engine: sa.Engine, account_id: int, limit: int = 20) -> list[dict[str, Any]]:
    f = feed_imports.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(feed_imports).where(f.account_id == account_id).order_by(f.id.desc()).limit(limit)
        )
        return [_job_json(r, 10) for r in rows]


def product(engine: sa.Engine, account_id: int, product_id: str) -> Product:
    with engine.connect() as conn:
        found = products.get_product(conn, account_id, product_id)
    if found is None:
        raise NotFound(f"product {product_id[:200]!r} is not in the catalog")
    return found
