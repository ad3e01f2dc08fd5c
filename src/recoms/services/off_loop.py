"""Work handed to a thread, many requests at a time: token exchanges, round trips, tracking's commits.

`BatchThread` is the mechanism (one thread that takes whatever is queued, answers each caller on its own
event loop); services.ingest_queue commits tracking through one as well.

Every ES-TOKEN request spends its token: a write to the token store. `TokenExchanges`: a request
queues its token and awaits the answer; the tokens queued in one turn of the event loop go to the
store's `exchange_many` together: one SQL transaction (one commit) or one Redis script call (one round
trip) for the lot. SQLite's local commit runs on the loop, Redis's call is awaited on it, and
PostgreSQL's blocking round trip goes to a thread, where it would otherwise stall every other request.
Under load batches grow by themselves; a lone request is a batch of one. The store's semantics hold:
exchanges apply in arrival order, so a token replayed within one batch still revokes its chain. A
store that does not answer fails the whole batch: every request in it gets the error (a 503), and
nothing was spent in SQL (the transaction rolled back).

`OffLoop`: the other statements of the hot path (a contact's history, v2's contact lookup) are round
trips on PostgreSQL: they run on a thread of their own. On SQLite they are short and local, cheaper than
a hand-off: they run in place. `BatchedReads`: a read every request of a kind makes (a contact's history
mark) goes to its own thread as one statement for all the requests waiting for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from recoms.store.tokens import Grant, TokenStore

log = logging.getLogger(__name__)

Exchanged = tuple[Grant, str] | None
MAX_BATCH = 256  # a bound on one batch's length: the first in the batch waits for the last
# How long a batch behind another SQLite writer retries on the event loop before the thread waits instead.
IN_PLACE_WAIT_SECONDS = 0.05


class BatchThread:
    """One thread that takes whatever is queued and passes it to `handle` (a list in, one outcome per
    item out: a result, or the exception that item raised); each caller gets its outcome on its own loop.
    `handle` raising fails every item of the batch."""

    def __init__(self, name: str, handle: Callable[[list], Sequence], max_batch: int = MAX_BATCH,
                 weigh: Callable[[Any], int] | None = None) -> None:
        self.name = name
        self.handle = handle
        self.max_batch = max_batch  # a bound on the items of a batch, or on their weights (`weigh`)
        self.weigh = weigh
        self._forget_thread()
        _ALL.add(self)

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.enqueue(item, future, loop)
        return await future

    def enqueue(self, item: Any, future: asyncio.Future, loop: asyncio.AbstractEventLoop) -> None:
        """`item`'s outcome into `future`, which belongs to `loop` (a caller awaiting it already)."""
        self._queue.put((item, future, loop))
        if self._thread is None:
            self._start()

    def submit_waiting(self, item: Any) -> concurrent.futures.Future:
        """For a caller outside an event loop (a thread): its future."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((item, future, None))
        if self._thread is None:
            self._start()
        return future

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _forget_thread(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def stop(self) -> None:
        """Finish what is queued and end the thread (the server's shutdown)."""
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            weigh = self.weigh
            size = weigh(first[0]) if weigh else 1
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
                size += weigh(item[0]) if weigh else 1
            self._answer(batch)

    def _answer(self, batch: list[tuple]) -> None:
        try:
            outcomes: Sequence = self.handle([item for item, _, _ in batch])
        except Exception as exc:  # e.g. the store does not answer: every request of the batch gets the error
            outcomes = [exc] * len(batch)
        by_loop: dict[asyncio.AbstractEventLoop | None, list] = {}
        for (_, future, loop), outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, outcome))
        waiting = by_loop.pop(None, None)
        if waiting:  # threads' futures: settled from here
            _settle(waiting)
        # Each event loop is woken once for all of its answers (a wake-up is a system call).
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # that loop closed: nobody waits for these answers any more
                log.debug("dropped %d answers for a closed event loop", len(settled))


class TokenExchanges:
    """The tokens of all requests that arrive in one turn of the event loop are exchanged as one batch.

    `in_place` exchanges a batch on the event loop itself: SQLite's local commit without fsync, or Redis's
    script call awaited on the loop. Either costs less than handing the batch to a thread (the thread's CPU
    per token, and the GIL passed back and forth at each of its calls). It answers None instead of waiting
    when another writer holds SQLite's write lock: the batch tries again on the loop for up to
    IN_PLACE_WAIT_SECONDS, then goes to the thread, which waits for the lock.
    Without `in_place` (PostgreSQL: a blocking driver), every batch goes to the thread."""

    def __init__(self, store: TokenStore, max_batch: int = MAX_BATCH,
                 in_place: Callable[[list[str]], Awaitable[list[Exchanged] | None]] | None = None) -> None:
        self._thread = BatchThread("token-exchanges", store.exchange_many, max_batch)
        self._in_place = in_place
        self._gathering: dict[asyncio.AbstractEventLoop, list[tuple[str, asyncio.Future]]] = {}
        self._running: set[asyncio.Task] = set()

    async def exchange(self, token: str) -> Exchanged:
        """The token's grant and the next token, or None when it is not valid; raises what the store
        raised when it does not answer."""
        if self._in_place is None:
            return await self._thread.submit(token)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        gathering = self._gathering.get(loop)
        if gathering is None:
            gathering = self._gathering[loop] = []
            loop.call_soon(self._start_batch, loop)  # after the requests ready in this turn
        gathering.append((token, future))
        return await future

    def _start_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(self._exchange_in_place(self._gathering.pop(loop), loop))
        self._running.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._running.discard)

    async def _exchange_in_place(self, batch: list[tuple[str, asyncio.Future]], loop) -> None:
        tokens = [token for token, _ in batch]
        deadline = loop.time() + IN_PLACE_WAIT_SECONDS
        pause = 0.0001
        while True:
            try:
                outcomes = await self._in_place(tokens)
            except Exception as exc:  # the store failed: every request of the batch gets the error
                outcomes = [exc] * len(batch)
            if outcomes is not None or loop.time() >= deadline:
                break
            # Another writer holds the lock (tracking's commit, another worker's batch: milliseconds):
            # try again shortly, the loop serving meanwhile. The thread would wait as long, then pay for
            # the GIL at each of its statements (up to a switch interval each, against a busy loop).
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.002)
        if outcomes is None:  # a long write holds the lock: the thread waits for it, not the loop
            for token, future in batch:
                self._thread.enqueue(token, future, loop)
            return
        _settle([(future, outcome) for (_, future), outcome in zip(batch, outcomes, strict=True)])

    def stop(self) -> None:
        self._thread.stop()


class OffLoop:
    """`await run(fn, *args)`: `fn(*args)` on a thread of its own (`inline=False`), or in place."""

    def __init__(self, inline: bool) -> None:
        self.inline = inline
        self._thread = BatchThread("hot-path-reads", _each)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.inline:
            return fn(*args)
        return await self._thread.submit((fn, args))

    def stop(self) -> None:
        self._thread.stop()


class BatchedReads:
    """`await read(item)`: `read_many([item, ...])`'s answer for `item`, where `read_many` answers a list
    of items in one statement. Off the loop (`inline=False`), the items queued while the thread waits
    for the previous statement go in the next one; in place, each is read alone."""

    def __init__(self, name: str, read_many: Callable[[list], Sequence], inline: bool) -> None:
        self.inline = inline
        self.read_many = read_many
        self._thread = BatchThread(name, read_many)

    async def read(self, item: Any) -> Any:
        if self.inline:
            return self.read_many([item])[0]
        return await self._thread.submit(item)

    def stop(self) -> None:
        self._thread.stop()


def _each(calls: list[tuple[Callable[..., Any], tuple]]) -> list:
    outcomes: list = []
    for fn, args in calls:
        try:
            outcomes.append(fn(*args))
        except Exception as exc:  # that caller's error only
            outcomes.append(exc)
    return outcomes


# A server's workers fork from the process that built the app: each starts threads of its own.
_ALL: weakref.WeakSet[BatchThread] = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [each._forget_thread() for each in list(_ALL)])


def _settle(settled: list[tuple[asyncio.Future | concurrent.futures.Future, Any]]) -> None:
    for future, outcome in settled:
        if future.done():  # the request was cancelled (its client left): its work is done all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
