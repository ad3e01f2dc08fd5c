"""Group commit for tracking: one writer thread per process (a services.off_loop.BatchThread) stores the
events of many requests in one transaction, and answers each request once that transaction is committed.

Acknowledged still means durable (the answer waits for the commit), but a burst of single-event
requests costs one transaction instead of one each, and concurrent writers queue here instead of
fighting over the database's write lock (SQLite allows one writer: they used to time out).
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from recoms.services.ingest_batch import ContactIds
from recoms.services.off_loop import BatchThread
from recoms.services.planner_statistics import StatisticsKeeper
from recoms.services.tracking import IngestResult, ParsedEvents, ingest, parse_events, store_requests
from recoms.store import bulk_load

MAX_GROUP_EVENTS = 5000  # one transaction holds at most this many events (a few milliseconds of work)
INLINE_PARSE = 20


@dataclass(slots=True)
class _Job:
    account_id: int
    parsed: ParsedEvents
    source: str


class IngestQueue:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = BatchThread("ingest-writer", self._commit, MAX_GROUP_EVENTS,
                                   weigh=lambda job: len(job.parsed.events))
        self.transactions = 0  # committed groups (observability, and what the tests check)
        self._conn: sa.Connection | None = None  # the writer thread's, between groups
        self._conn_pid = 0  # the process that opened it (a forked worker opens its own)
        self.statistics = StatisticsKeeper(engine)
        self._contact_ids = ContactIds()  # taken ahead, for the new visitors of the groups to come

    async def store(self, account_id: int, raw_events: list[Any], source: str, form: str = "web") -> IngestResult:
        """Validate a request's events and store the good ones; returns once they are committed.

        A large batch is validated off the event loop; a few events are validated right here (a thread hop
        would cost more than the work).
        """
        if len(raw_events) > INLINE_PARSE:
            parsed = await run_in_threadpool(parse_events, raw_events, form)
        else:
            parsed = parse_events(raw_events, form)
        return await self._writer.submit(_Job(account_id, parsed, source))

    def submit(self, account_id: int, parsed: ParsedEvents, source: str) -> Future:
        """Queue a request's parsed events; the future's result is its IngestResult, once committed."""
        return self._writer.submit_waiting(_Job(account_id, parsed, source))

    def stop(self) -> None:
        """Store what is queued, then end the writer and close its connection."""
        self._writer.stop()
        self._close_connection()

    def _commit(self, group: list[_Job]) -> list[IngestResult | BaseException]:
        """The group in one transaction; a store that does not answer raises (every request gets the error)."""
        try:
            results: list[IngestResult | BaseException] = list(self._store(group))
        except IntegrityError:  # a race on one request's keys: each on its own, with its retry
            return [self._alone(job) for job in group]
        self.transactions += 1
        self.statistics.poke()
        return results

    def _store(self, group: list[_Job]) -> list[IngestResult]:
        """One transaction on the writer's own connection, kept from group to group: a checkout from the
        pool pings the server first, a round trip per group. A connection the server dropped meanwhile
        (a restart) fails its first statement: the group goes again once, on a new connection."""
        requests = [(job.account_id, job.source, job.parsed) for job in group]
        for attempt in (1, 2):
            if self._conn is None or self._conn_pid != os.getpid():
                self._conn, self._conn_pid = self.engine.connect(), os.getpid()
                bulk_load.plan_each_statement(self._conn)
                bulk_load.begin_with_first_statements(self._conn)
            try:
                with self._conn.begin():
                    return store_requests(self._conn, requests, commit=True, contact_ids=self._contact_ids)
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
        if conn is not None and self._conn_pid == os.getpid():
            with contextlib.suppress(Exception):
                if conn.dialect.name == "postgresql":
                    conn.invalidate()  # set up for this writer only (bulk_load): not back to the pool
                conn.close()

    def _alone(self, job: _Job) -> IngestResult | BaseException:
        try:
            return ingest(self.engine, job.account_id, job.parsed, job.source)
        except Exception as exc:
            return exc


__all__ = ["IngestQueue", "IngestResult"]
