"""Group commit for tracking: one writer thread per process stores the events of many requests in one
transaction, and answers each request once that transaction is committed.

Acknowledged still means durable (the answer waits for the commit), but a burst of single-event
requests costs one transaction instead of one each, and concurrent writers queue here instead of
fighting over the database's write lock (SQLite allows one writer: they used to time out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from recoms.services.tracking import IngestResult, ParsedEvents, ingest, parse_events, store_requests

log = logging.getLogger(__name__)

MAX_GROUP_EVENTS = 5000  # one transaction holds at most this many events (a few milliseconds of work)
INLINE_PARSE = 20


@dataclass
class _Job:
    account_id: int
    parsed: ParsedEvents
    source: str
    future: Future | asyncio.Future
    loop: asyncio.AbstractEventLoop | None = None  # whose future it is (None: a thread's)


class IngestQueue:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()  # C: a put takes no Python lock
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.transactions = 0  # committed groups (observability, and what the tests check)
        self._conn: sa.Connection | None = None  # the writer thread's, between groups

    async def store(self, account_id: int, raw_events: list[Any], source: str, form: str = "web") -> IngestResult:
        """Validate a request's events and store the good ones; returns once they are committed.

        A large batch is validated off the event loop; a few events are validated right here (a thread hop
        would cost more than the work).
        """
        if len(raw_events) > INLINE_PARSE:
            parsed = await run_in_threadpool(parse_events, raw_events, form)
        else:
            parsed = parse_events(raw_events, form)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._ensure_writer()
        self._jobs.put(_Job(account_id, parsed, source, future, loop))
        return await future

    def submit(self, account_id: int, parsed: ParsedEvents, source: str) -> Future:
        """Queue a request's parsed events; the future's result is its IngestResult, once committed."""
        future: Future = Future()
        self._ensure_writer()
        self._jobs.put(_Job(account_id, parsed, source, future))
        return future

    def _ensure_writer(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
                    self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                self._close_connection()
                return
            group, events = [first], len(first.parsed.events)
            while events < MAX_GROUP_EVENTS:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)  # stop after this group
                    break
                group.append(job)
                events += len(job.parsed.events)
            self._commit(group)

    def _store(self, group: list[_Job]) -> list[IngestResult]:
        """One transaction on the writer's own connection, kept from group to group: a checkout from the
        pool pings the server first, a round trip per group. A connection the server dropped meanwhile
        (a restart) fails its first statement: the group goes again once, on a new connection."""
        requests = [(job.account_id, job.source, job.parsed) for job in group]
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self.engine.connect()
            try:
                with self._conn.begin():
                    return store_requests(self._conn, requests)
            except IntegrityError:
                raise
            except sa.exc.DBAPIError as exc:
                self._close_connection()
                if attempt == 1 and exc.connection_invalidated:
                    continue
                raise
        raise AssertionError("unreachable")

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _commit(self, group: list[_Job]) -> None:
        try:
            results = self._store(group)
        except IntegrityError:  # a race on one request's keys: each on its own, with its retry
            results = None
        except Exception as exc:  # the database does not answer: every request of the group gets the error
            _settle([(job, None, exc) for job in group])
            return
        if results is None:
            for job in group:
                self._alone(job)
            return
        self.transactions += 1
        _settle([(job, result, None) for job, result in zip(group, results, strict=True)])

    def _alone(self, job: _Job) -> None:
        try:
            _settle([(job, ingest(self.engine, job.account_id, job.parsed, job.source), None)])
        except Exception as exc:
            _settle([(job, None, exc)])


def _settle(outcomes: list[tuple[_Job, IngestResult | None, BaseException | None]]) -> None:
    """Answer the requests of a group: one wake-up of each event loop for all of its requests (a wake-up is
    a system call; one per request cost the writer a third of its time)."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for job, result, exc in outcomes:
        if job.loop is None:
            if exc is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(exc)
        else:
            by_loop.setdefault(job.loop, []).append((job.future, result, exc))
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_answer, answers)
        except RuntimeError:  # the loop is closed (shutdown): nobody waits for these answers
            log.warning("%d tracking answers had no event loop to go to", len(answers))


def _answer(answers: list[tuple[asyncio.Future, IngestResult | None, BaseException | None]]) -> None:
    for future, result, exc in answers:
        if future.done():  # the request was cancelled (its client went away): stored all the same
            continue
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)


__all__ = ["IngestQueue", "IngestResult"]
