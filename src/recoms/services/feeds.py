"""Feed import (SPEC §4): stream a feed through its reader into the catalog, item by item.

Bad items are reported and skipped; a full feed marks the products it no longer lists unavailable
(unless the document broke off midway, when we cannot know what it would have listed).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import sqlalchemy as sa

from recoms.catalog import FeedError, FeedRefused, read_feed, sniff
from recoms.domain.product import Product, too_long
from recoms.errors import BadRequest, NotFound, PayloadTooLarge
from recoms.store import products
from recoms.store.accounts import update_account
from recoms.store.db import now_ms
from recoms.store.tables import feed_imports

BATCH = 1000
MAX_REPORTED_ERRORS = 100


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
    report = FeedReport(format=fmt)
    started = now_ms()
    batch: dict[str, Product] = {}

    def flush() -> None:
        with engine.begin() as conn:
            products.upsert_products(conn, account_id, list(batch.values()), feed_seen_at=started if full else None)
        batch.clear()

    try:
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
    except FeedRefused as exc:
        raise BadRequest(f"feed refused: {exc}") from None
    except ValueError as exc:  # an unknown format
        raise BadRequest(str(exc)) from None
    if batch:
        flush()
    with engine.begin() as conn:
        if full and report.complete and report.items_ok:
            report.unavailable = products.mark_missing_unavailable(conn, account_id, started)
        conn.execute(feed_imports.insert().values(
            account_id=account_id, source=source[:2000], format=report.format or "auto", full=full,
            items_ok=report.items_ok, items_bad=report.items_bad, errors=report.errors, started_at=started,
            finished_at=now_ms(),
        ))
    return report


def import_location(
    engine: sa.Engine, account_id: int, location: str, full: bool = True, fmt: str | None = None,
    max_bytes: int = 1 << 30, timeout: float = 60.0,
) -> FeedReport:
    """Import a feed from a file path or an http(s) URL (downloaded to a temp file first)."""
    if location.startswith(("http://", "https://")):
        with tempfile.TemporaryFile() as tmp:
            download(location, tmp, max_bytes, timeout)
            tmp.seek(0)
            return import_stream(engine, account_id, tmp, location, full, fmt)
    path = Path(location)
    if not path.is_file():
        raise BadRequest(f"no feed file at {location}")
    with path.open("rb") as fh:
        return import_stream(engine, account_id, fh, str(path), full, fmt)


def download(url: str, out: IO[bytes], max_bytes: int, timeout: float) -> None:
    size = 0
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"the feed at {url} is larger than {max_bytes} bytes")
                out.write(chunk)
    except httpx.HTTPError as exc:
        raise BadRequest(f"could not fetch the feed at {url}: {exc}") from None


def schedule_pull(engine: sa.Engine, account_id: int, url: str) -> None:
    """Pull this feed URL on the serve loop's interval from now on."""
    with engine.begin() as conn:
        update_account(conn, account_id, feed_url=url)


def recent_imports(engine: sa.Engine, account_id: int, limit: int = 20) -> list[dict[str, Any]]:
    f = feed_imports.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(feed_imports).where(f.account_id == account_id).order_by(f.id.desc()).limit(limit)
        )
        return [{"id": r.id, "source": r.source, "format": r.format, "full": r.full, "itemsOk": r.items_ok,
                 "itemsBad": r.items_bad, "errors": r.errors[:10], "startedAt": r.started_at,
                 "finishedAt": r.finished_at} for r in rows]


def product(engine: sa.Engine, account_id: int, product_id: str) -> Product:
    with engine.connect() as conn:
        found = products.get_product(conn, account_id, product_id)
    if found is None:
        raise NotFound(f"product {product_id[:200]!r} is not in the catalog")
    return found
