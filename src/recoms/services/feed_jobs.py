"""Feed imports off the request-serving threads, bounded per account and in all.

An import from a URL is a job: `submit_url` records it as queued and answers at once, one of the
runner's own threads downloads and imports it, and the client polls its row. An upload waits for its
import, but on the same threads; so however many imports arrive, at most `feed_imports_max` threads
work on them and the threads that answer /healthz, tokens and tracking stay free. Beyond the limits
(imports queued or running, per account and in all) the caller gets 429 with Retry-After. The counts
are this process's own: each serving process bounds what it runs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import sqlalchemy as sa

from recoms.errors import RecomsError, TooManyRequests
from recoms.services.feeds import (
    INTERRUPTED,
    check_feed_url,
    check_format,
    create_job,
    fail_job,
    import_job,
    import_location,
    import_stream,
    interrupt_jobs,
    schedule_pull,
    start_job,
)
from recoms.services.fetch import FetchPolicy
from recoms.settings import Settings

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30  # about what a feed import takes; polling sooner only finds the slot still taken
FAILED_ON_THE_SERVER = "the import failed on the server; the error has been logged"


class FeedJobs:
    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        self.engine = engine
        self.policy = FetchPolicy.from_settings(settings)
        self.max_total = settings.feed_imports_max
        self.max_per_account = settings.feed_imports_per_account
        # As many threads as imports may be admitted: an admitted import never waits for a thread.
        self._pool = ThreadPoolExecutor(max_workers=self.max_total, thread_name_prefix="recoms-feed")
        self._lock = threading.Lock()
        self._total = 0
        self._per_account: dict[int, int] = {}
        self._alive: set[int] = set()  # job ids this process runs
        self._stopping = threading.Event()

    # --- admission ------------------------------------------------------------------------

    def _admit(self, account_id: int) -> None:
        with self._lock:
            if self._per_account.get(account_id, 0) >= self.max_per_account:
                raise TooManyRequests(
                    f"this account already has {self.max_per_account} feed import(s) running: "
                    "retry when one has finished", retry_after=RETRY_AFTER_SECONDS)
            if self._total >= self.max_total:
                raise TooManyRequests("the server is busy with other feed imports: retry later",
                                      retry_after=RETRY_AFTER_SECONDS)
            self._total += 1
            self._per_account[account_id] = self._per_account.get(account_id, 0) + 1

    def _release(self, account_id: int, job_id: int | None = None) -> None:
        with self._lock:
            self._total -= 1
            left = self._per_account.pop(account_id) - 1
            if left:
                self._per_account[account_id] = left
            self._alive.discard(job_id)

    def _submit(self, account_id: int, job_id: int | None, fn, *args) -> Future:
        """Run fn on the runner's threads; the slot is freed when it ends or is cancelled, whatever happens."""
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:  # the pool is shut down: the server is stopping
            self._release(account_id, job_id)
            raise
        future.add_done_callback(lambda _f: self._release(account_id, job_id))
        return future

    # --- the use cases --------------------------------------------------------------------

    def submit_url(self, account_id: int, url: object, full: bool = True, fmt: str | None = None,
                   schedule: bool = False) -> dict[str, Any]:
        """Queue the import of a feed URL; the queued job (poll it with `import_job`)."""
        url = check_feed_url(url)
        check_format(fmt)
        self._admit(account_id)
        try:
            job_id = create_job(self.engine, account_id, url, full, fmt)
            job = import_job(self.engine, account_id, job_id)
        except BaseException:
            self._release(account_id)
            raise
        with self._lock:
            self._alive.add(job_id)
        try:
            self._submit(account_id, job_id, self._run, job_id, account_id, url, full, fmt, schedule)
        except RuntimeError:
            fail_job(self.engine, job_id, INTERRUPTED)
            raise
        return job

    async def import_upload(self, account_id: int, stream: IO[bytes], source: str, full: bool = True,
                            fmt: str | None = None) -> dict[str, Any]:
        """Import a feed sent in the request, on the runner's threads; its report."""
        self._admit(account_id)
        future = self._submit(account_id, None, import_stream, self.engine, account_id, stream, source, full, fmt)
        return (await asyncio.wrap_future(future)).to_json()

    def pull(self, account_id: int, location: str) -> dict[str, Any] | None:
        """A scheduled pull, under the same limits (None when they leave no room now); waits for it."""
        try:
            self._admit(account_id)
        except TooManyRequests:
            return None
        try:
            job_id = create_job(self.engine, account_id, location, True, None)
        except BaseException:
            self._release(account_id)
            raise
        with self._lock:
            self._alive.add(job_id)
        self._submit(account_id, job_id, self._run, job_id, account_id, location, True, None, False).result()
        return import_job(self.engine, account_id, job_id)

    def _run(self, job_id: int, account_id: int, location: str, full: bool, fmt: str | None,
             schedule: bool) -> None:
        try:
            start_job(self.engine, job_id)
            import_location(self.engine, account_id, location, full, fmt, self.policy, job_id, self._stopping)
            if schedule:  # only a feed that imported is pulled again
                schedule_pull(self.engine, account_id, location)
        except RecomsError as exc:
            self._fail(job_id, INTERRUPTED if self._stopping.is_set() else exc.detail)
        except Exception:
            log.exception("feed import %s of account %s failed", job_id, account_id)
            self._fail(job_id, FAILED_ON_THE_SERVER)

    def _fail(self, job_id: int, error: str) -> None:
        try:
            fail_job(self.engine, job_id, error)
        except Exception:
            log.exception("could not record the failure of feed import %s", job_id)

    # --- lifecycle ------------------------------------------------------------------------

    def recover(self) -> int:
        """At start: imports left queued or running by an earlier process end as failed ('interrupted')."""
        with self._lock:
            alive = set(self._alive)
        count = interrupt_jobs(self.engine, alive)
        if count:
            log.warning("%s feed import(s) were interrupted by a restart", count)
        return count

    def shutdown(self) -> None:
        """Stop: running downloads end at their next read, queued ones never start."""
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
