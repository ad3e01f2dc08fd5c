"""`recoms events import`: a file of events (JSON lines), streamed in chunks through the tracking service.

Memory stays bounded by a few chunks whatever the file's size; each chunk is one transaction (durable
once it commits), with the identifiers of all its events looked up together, so the rate does not fall as
the contacts grow. A thread reads and validates the next chunks while the current one is written: the
database's own work (SQLite's C code, PostgreSQL's server) then overlaps with Python's.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from recoms import gc_tuning
from recoms.services.tracking import ParsedEvents, parse_events, store_retrying
from recoms.store import bulk_load

CHUNK = 5000  # lines a transaction
AHEAD = 2  # chunks validated ahead of the writer (memory: a few chunks)
# While the validating thread runs, the writer gets the GIL back from it only after this long, once each of
# its statements has been answered: at Python's default of 5 ms, a statement answered in 0.3 ms took up to
# 5.3 (an import of 300k events into PostgreSQL took 21.8 s; 18.1 with 0.5 ms; 0.1 ms gained 7 % more).
HANDOVER_SECONDS = 0.0001
MAX_ERRORS = 100  # reported by line; the rest are only counted


def import_file(engine: sa.Engine, account_id: int, path: Path, form: str,
                progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Import a file of events; the totals, with the first errors by line number."""
    with path.open("rb") as fh:
        return import_lines(engine, account_id, fh, form, progress)


def import_lines(engine: sa.Engine, account_id: int, lines: Iterable[bytes], form: str,
                 progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    with gc_tuning.fewer_collections(), _quick_handover(), engine.connect() as conn:  # millions of short-lived objects
        bulk_load.roomy_cache(conn)
        return _import(conn, account_id, lines, form, progress)


@contextlib.contextmanager
def _quick_handover() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(HANDOVER_SECONDS)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _import(conn: sa.Connection, account_id: int, lines: Iterable[bytes], form: str,
            progress: Callable[[int, float], None] | None) -> dict[str, Any]:
    totals: dict[str, Any] = {"accepted": 0, "errors": [], "duplicates": 0, "lines": 0, "rejected": 0}
    started = time.perf_counter()
    statistics = bulk_load.Statistics(conn)
    for numbers, parsed, bad in _validated(_chunks(lines), form):
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


def _validated(chunks: Iterator[tuple[list[int], list[Any], list[tuple[int, str]]]], form: str,
               ) -> Iterator[tuple[list[int], ParsedEvents, list[tuple[int, str]]]]:
    """The chunks, validated by a thread AHEAD of the caller (an error there is raised here)."""
    ready: queue.Queue = queue.Queue(AHEAD)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for numbers, raw, bad in chunks:
                if stop.is_set():
                    return
                ready.put((numbers, parse_events(raw, form), bad))
            ready.put(done)
        except BaseException as exc:  # handed to the caller, which raises it
            ready.put(exc)

    thread = threading.Thread(target=work, name="import-validate", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a put, so that the thread sees `stop`
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)


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
