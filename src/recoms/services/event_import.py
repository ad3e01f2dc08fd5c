"""`recoms events import`: a file of events (JSON lines), streamed in chunks through the tracking service.

Memory stays bounded by a few chunks whatever the file's size; each chunk is one transaction (durable once
it commits), with the identifiers of all its events looked up together, so the rate does not fall as the
contacts grow. A file is read, parsed and validated in a worker process, a chunk or so ahead of the
writer: that was a third of the writer's time, on a core of its own now. (A thread doing it made imports
slower: the writer waited for the GIL after each of its statements.) The worker sends the events as plain
JSON, which the writer turns back into events in an eighth of the time the parsing took.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from recoms import gc_tuning
from recoms.domain.events import TrackedEvent
from recoms.errors import RecomsError
from recoms.services.attribution import may_name_a_list
from recoms.services.tracking import ParsedEvents, parse_events, store_retrying
from recoms.store import bulk_load

CHUNK = 5000  # lines a transaction
MAX_ERRORS = 100  # reported by line; the rest are only counted

Chunk = tuple[list[int], ParsedEvents, list[tuple[int, str]]]  # line numbers, their events, lines not JSON


def import_file(engine: sa.Engine, account_id: int, path: Path, form: str,
                progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Import a file of events; the totals, with the first errors by line number. The file is read and
    parsed in a worker process (`_parsed_in_worker`)."""
    with _parsed_in_worker(path, form) as chunks:
        return _import_chunks(engine, account_id, chunks, progress)


def import_lines(engine: sa.Engine, account_id: int, lines: Iterable[bytes], form: str,
                 progress: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Import lines of events parsed here, one chunk after the other."""
    return _import_chunks(engine, account_id, (_parse(chunk, form) for chunk in _chunks(lines)), progress)


def _import_chunks(engine: sa.Engine, account_id: int, chunks: Iterator[Chunk],
                   progress: Callable[[int, float], None] | None) -> dict[str, Any]:
    # Millions of short-lived objects: fewer collections.
    with bulk_load.checkpoints_beside(engine), gc_tuning.fewer_collections(), engine.connect() as conn:
        bulk_load.roomy_cache(conn)
        return _import(conn, account_id, chunks, progress)


def _import(conn: sa.Connection, account_id: int, chunks: Iterator[Chunk],
            progress: Callable[[int, float], None] | None) -> dict[str, Any]:
    totals: dict[str, Any] = {"accepted": 0, "errors": [], "duplicates": 0, "lines": 0, "rejected": 0}
    started = time.perf_counter()
    statistics = bulk_load.Statistics(conn)
    for numbers, parsed, bad in chunks:
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


def _chunks(lines: Iterable[bytes]) -> Iterator[list[tuple[int, bytes]]]:
    """Up to CHUNK non-empty lines at a time, with their line numbers."""
    chunk: list[tuple[int, bytes]] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            chunk.append((number, line))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


@contextmanager
def _parsed_in_worker(path: Path, form: str) -> Iterator[Iterator[Chunk]]:
    """The file's chunks, read and parsed in a worker process (spawned, not forked: the writer has a pool of
    connections and a checkpointing thread). It sends each chunk as JSON through a pipe, whose buffer keeps
    it about a chunk ahead; the writer reads them in its own thread (a helper thread of the writer's, as
    a process pool has, took the GIL from it after each of its statements)."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    worker = multiprocessing.get_context("spawn").Process(
        target=_parse_file, args=(str(path), form, sending), name="recoms-import-parser", daemon=True)
    worker.start()
    sending.close()

    def chunks() -> Iterator[Chunk]:
        while True:
            try:
                message = receiving.recv_bytes()
            except EOFError:
                raise RecomsError("the import's parsing process stopped") from None
            kind, body = message[:1], message[1:]
            if kind == b"d":
                return
            if kind == b"e":
                raise RecomsError(f"the import's parsing process failed: {body.decode()}")
            yield _unpack(body)
    try:
        yield chunks()
    finally:
        receiving.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()


def _parse_file(path: str, form: str, sending: Any) -> None:
    """The worker process: each chunk of the file parsed (`_parse`) and sent as JSON, then "done"."""
    gc_tuning.settle()
    try:
        with open(path, "rb") as fh:
            for chunk in _chunks(fh):
                sending.send_bytes(b"c" + _packed(_parse(chunk, form)))
        sending.send_bytes(b"d")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the writer stopped
    except Exception as exc:  # the writer reports it
        sending.send_bytes(b"e" + f"{type(exc).__name__}: {exc}".encode())
    finally:
        sending.close()


def _parse(chunk: list[tuple[int, bytes]], form: str) -> Chunk:
    """The line numbers and events of the lines that are JSON (each validated: ParsedEvents), and the
    (line number, reason) of those that are not."""
    numbers: list[int] = []
    raw: list[Any] = []
    bad: list[tuple[int, str]] = []
    for number, line in chunk:
        try:
            raw.append(orjson.loads(line))
            numbers.append(number)
        except orjson.JSONDecodeError as exc:
            bad.append((number, f"not JSON: {exc}"))
    return numbers, parse_events(raw, form), bad


def _packed(chunk: Chunk) -> bytes:
    """A parsed chunk as JSON: the events as their fields (an event's envelope only where attribution
    reads it)."""
    numbers, parsed, bad = chunk
    events = [(index, ev.type, ev.ts, ev.ids, ev.payload, ev.contact_id, key, text,
               ev.raw if may_name_a_list(text) else None) for index, ev, key, text in parsed.events]
    return orjson.dumps((numbers, events, parsed.errors, parsed.ignored, bad))


def _unpack(packed: bytes) -> Chunk:
    numbers, events, errors, ignored, bad = orjson.loads(packed)
    return numbers, ParsedEvents(
        [(index, TrackedEvent(kind, ts, ids, payload, raw or {}, contact_id), key, text)
         for index, kind, ts, ids, payload, contact_id, key, text, raw in events],
        errors, ignored), [tuple(b) for b in bad]
