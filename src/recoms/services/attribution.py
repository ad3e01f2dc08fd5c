"""The recommendation log and the impressions and clicks that come back for it.

`RecommendationLog.record` is called on the hot path for every served list: it numbers the list, appends
one tuple to an in-memory queue and returns the recommendation id, never touching the database. A
thread writes the queue in batches every `flush_seconds`; the queue is bounded (beyond it lists are
counted as dropped, the answer is never slowed) and what is left is written at shutdown (`close`).

On SQLite the event loop that records the lists writes them itself, every LOOP_FLUSH_SECONDS, when
nobody else holds the write lock (`write_on_loop`). A thread holding SQLite's write lock takes the GIL
back after each of its calls, up to a switch interval each against a busy loop: its commits held the
lock for 8 ms typically and 45 ms at worst, and every token exchange waited behind them (similar's p99:
18-27 ms with the log, 7-14 without).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from orjson import dumps
from prometheus_client import Counter

from recoms.domain import attribution
from recoms.domain.events import TrackedEvent
from recoms.store import recommendation_log
from recoms.store.db import DriverConnections, WriteLockBusy

log = logging.getLogger(__name__)

# The event loop's writes (SQLite): a batch every LOOP_FLUSH_SECONDS, sooner when the lock was taken.
LOOP_FLUSH_SECONDS = 0.05
LOOP_RETRY_SECONDS = 0.002

LOGGED = Counter("recoms_recommendation_log_written_total", "Served recommendation lists written to the log")
DROPPED = Counter("recoms_recommendation_log_dropped_total", "Served lists not logged: the queue was full")

# Recommendation numbers: milliseconds since 2024 in the high bits, a per-process counter (from a random
# start) in the low 22: unique across replicas unless two of them number ~4M lists in the same millisecond.
EPOCH_MS = 1_704_067_200_000
# Every recommendation response names its list here (and the mobile SDK's body as `recommendationId`).
RECOMMENDATION_ID_HEADER = "X-Recommendation-Id"
COUNTER_BITS = 22
COUNTER_MASK = (1 << COUNTER_BITS) - 1


def number_time(number: int) -> int:
    """When a recommendation was numbered (ms since the epoch)."""
    return (number >> COUNTER_BITS) + EPOCH_MS


class RecommendationLog:
    def __init__(self, engine: sa.Engine, enabled: bool = True, flush_seconds: float = 1.0,
                 max_pending: int = 100_000, batch_size: int = 500) -> None:
        self.engine = engine
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.batch_size = batch_size
        self._pending: deque[tuple] = deque()
        self._counter = itertools.count(secrets.randbits(COUNTER_BITS))
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop_writes: DriverConnections | None = None
        self._loops_due: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()  # a flush is scheduled

    def write_on_loop(self, connections: DriverConnections) -> None:
        """SQLite: lists recorded on an event loop are written by that loop, through `connections`."""
        self._loop_writes = connections

    # ---- the hot path -------------------------------------------------------------------------
    def record(self, account_id: int, datasource_id: int, variant_id: int, contact_id: int | None,
               item_ids: Sequence[str] | str, at_ms: int | None = None) -> str:
        """Number a served list, queue it, and return its recommendation id (no I/O, ~1 µs).

        `item_ids`: the products' ids, or already as a JSON array (a reused answer keeps it so).
        `at_ms` backdates a list (the demo's simulated history); requests leave it out."""
        now = at_ms if at_ms is not None else time.time_ns() // 1_000_000
        number = ((now - EPOCH_MS) << COUNTER_BITS) | (next(self._counter) & COUNTER_MASK)
        if self.enabled:
            if len(self._pending) < self.max_pending:
                self._pending.append((number, account_id, datasource_id, variant_id, contact_id, item_ids, now))
                if self._thread is None:
                    self._start()
                if self._loop_writes is not None:
                    self._due_on_loop()
            else:
                DROPPED.inc()
        return attribution.format_id(datasource_id, variant_id, number)

    # ---- the writer ---------------------------------------------------------------------------
    def _due_on_loop(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # recorded off any loop (a thread of the server's pool): the thread writes it
            return
        if loop not in self._loops_due:
            self._loops_due.add(loop)
            loop.call_later(LOOP_FLUSH_SECONDS, self._flush_on_loop, loop)

    def _flush_on_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """One batch from the queue in one transaction, unless another writer holds the lock (then soon)."""
        batch = self._take_batch()
        try:
            if batch:
                rows = _rows(batch)
                self._loop_writes.transaction(
                    lambda execute: recommendation_log.insert_rows_sqlite(execute, rows), wait=False)
                LOGGED.inc(len(rows))
            # A backlog (a burst) goes on at the loop's next turn, one batch a turn.
            delay = 0 if len(self._pending) >= self.batch_size else LOOP_FLUSH_SECONDS
        except WriteLockBusy:
            self._pending.extendleft(reversed(batch))
            delay = LOOP_RETRY_SECONDS
        except Exception:  # the database failed: the thread's next round writes (or reports) them
            log.warning("could not write %d served lists to the recommendation log", len(batch), exc_info=True)
            self._pending.extendleft(reversed(batch))
            self._loops_due.discard(loop)
            return
        if self._pending and not loop.is_closed():
            loop.call_later(delay, self._flush_on_loop, loop)
        else:
            self._loops_due.discard(loop)

    def _take_batch(self) -> list[tuple]:
        batch = []
        while self._pending and len(batch) < self.batch_size:
            batch.append(self._pending.popleft())
        return batch

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="recommendation-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        """Write what is queued; returns how many lists were written. A failed batch goes back to the
        queue (while there is room) for the next round."""
        written = 0
        with self._flush_lock:
            while self._pending:
                batch = self._take_batch()
                rows = _rows(batch)
                try:
                    with self.engine.begin() as conn:
                        recommendation_log.insert_many(conn, rows)
                except Exception:  # the store is down: keep the lists for the next round
                    log.warning("could not write %d served lists to the recommendation log", len(rows), exc_info=True)
                    room = self.max_pending - len(self._pending)
                    self._pending.extendleft(reversed(batch[:max(room, 0)]))
                    DROPPED.inc(max(0, len(batch) - max(room, 0)))
                    break
                written += len(rows)
                LOGGED.inc(len(rows))
        return written

    def close(self) -> None:
        """Stop the writer and write what is left (the server's shutdown)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(10)
        self.flush()


def _rows(batch: list[tuple]) -> list[tuple]:
    """Queued lists as recommendation_log rows (COLUMNS order, the items as JSON text)."""
    return [(n, a, d, v, c, items if isinstance(items, str) else dumps(list(items)).decode(), ts)
            for n, a, d, v, c, items, ts in batch]


# --- impressions and clicks named in tracker events ------------------------------------------------


SIGNAL_KEYS = tuple(f'"{name}"' for name in (*attribution.ID_FIELDS, *attribution.SOURCE_FIELDS))


def may_name_a_list(event_json: str) -> bool:
    """Whether an event's JSON text holds a key that names a recommendation list: a substring test that
    spares the tracking path `web_signal_rows` on nearly every page view."""
    return any(key in event_json for key in SIGNAL_KEYS)


def web_signal_rows(account_id: int, contact_id: int | None, ev: TrackedEvent, received: int) -> list[dict[str, Any]]:
    """recom_events rows for the impressions and clicks an event reports (see domain/attribution.py)."""
    if ev.type not in ("ProductImpressions", "ProductPage"):
        return []
    return [
        {"account_id": account_id, "datasource_id": s.ref.datasource_id, "variant": f"r{s.ref.datasource_id}",
         "variant_id": s.ref.variant_id, "recommendation_id": s.ref.number, "contact_id": contact_id,
         "product_id": s.product_id, "kind": s.kind, "ts": ev.ts, "source": "web", "received_at": received}
        for s in attribution.web_signals(ev.type, ev.raw, ev.payload)
    ]
