"""`recoms events import`: a file of events (JSON lines), streamed in chunks through the tracking service.

Memory stays bounded by a chunk whatever the file's size; each chunk is one transaction (durable once it
commits), with the identifiers of all its events looked up together, so the rate does not fall as the
contacts grow. Chunks are read, validated and written one after the other: a thread validating the next
chunk meanwhile made imports slower on both stores (300k events: SQLite 12.3-14.8 s against 10.4-11.0,
PostgreSQL 13.8-16.8 against 13.1-14.1), as the writer waited for the GIL after each of its statements.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from recoms import gc_tuning
from recoms.services.tracking import parse_events, store_retrying
from recoms.store import bulk_load

CHUNK = 5000  # lines a transaction
MAX_ERRORS = 100  # reported by line; the rest are only counted


def import_file(engine: sa.Engine, account_id: int, path: Path, form: str,
                progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Import a file of events; the totals, with the first errors by line number."""
    with path.open("rb") as fh:
        return import_lines(engine, account_id, fh, form, progress)


def import_lines(engine: sa.Engine, account_id: int, lines: Iterable[bytes], form: str,
                 progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    # Millions of short-lived objects: fewer collections.
    with bulk_load.checkpoints_beside(engine), gc_tuning.fewer_collections(), engine.connect() as conn:
        bulk_load.roomy_cache(conn)
        return _import(conn, account_id, lines, form, progress)


def _import(conn: sa.Connection, account_id: int, lines: Iterable[bytes], form: str,
            progress: Callable[[int, float], None] | None) -> dict[str, Any]:
    totals: dict[str, Any] = {"accepted": 0, "errors": [], "duplicates": 0, "lines": 0, "rejected": 0}
    started = time.perf_counter()
    statistics = bulk_load.Statistics(conn)
    for numbers, raw, bad in _chunks(lines):
        parsed = parse_events(raw, form)
        result = store_retrying(conn, account_id, "import", parsed)
        statistics.loaded_rows(conn, result.accepted)
        totals["accepted"] += result.accepted
        totals["duplicates"] += len(result.duplicates)
        totals["rejected"] += len(result.errors) + len(bad)
        errors = sorted(bad + [(numbers[e["index"]], e["reason"]) for e in result.errors])
        for line, reason in errors[: max(0, MAX_ERRORS - len(totals["errors"]))]:
            totals["errors"].append({"line": line, "reason": reason})
        totals["lines"] += len(numbers) + len(bad)
        if progress is not None:
            progress(totals["lines"], time.perf_counter() - started)
    return totals


def _chunks(lines: Iterable[bytes]) -> Iterator[tuple[list[int], list[Any], list[tuple[int, str]]]]:
    """Up to CHUNK non-empty lines at a time: the line numbers and JSON of those that parse, and the
    (line number, reason) of those that do not."""
    numbers: list[int] = []
    raw: list[Any] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw.append(orjson.loads(line))
            numbers.append(number)
        except orjson.JSONDecodeError as exc:
            bad.append((number, f"not JSON: {exc}"))
        if len(raw) + len(bad) >= CHUNK:
            yield numbers, raw, bad
            numbers, raw, bad = [], [], []
    if raw or bad:
        yield numbers, raw, bad
