"""Background jobs of `recoms serve`: first training, periodic retraining, feed pulls, token purge.

Feed imports themselves run on `FeedJobs`' threads (`self.feeds`), which the API's imports share: a
scheduled pull gets the same fetcher and counts against the same limits.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Gauge

from recoms.services.feed_jobs import FeedJobs
from recoms.services.platform import Platform
from recoms.store.accounts import list_accounts
from recoms.training import snapshot
from recoms.training.train import train_account

log = logging.getLogger(__name__)
PURGE_SECONDS = 3600.0
RUNNING = Gauge("recoms_background_jobs_running", "1 when this process runs the background jobs (training, feed pulls)")


class Jobs:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict[str, float] = {}
        self.feeds = FeedJobs(platform.engine, platform.settings)

    def start(self) -> None:
        self.feeds.recover()
        self._thread = threading.Thread(target=self._run, name="recoms-jobs", daemon=True)
        self._thread.start()
        RUNNING.set(1)

    def stop(self) -> None:
        self._stop.set()
        RUNNING.set(0)
        self.feeds.shutdown()

    def _due(self, name: str, every: float) -> bool:
        now = time.monotonic()
        if every <= 0 or now - self._last.get(name, -1e18) < every:
            return False
        self._last[name] = now
        return True

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.tick()
            except Exception:
                log.exception("background job failed")

    def tick(self) -> None:
        s = self.platform.settings
        with self.platform.engine.connect() as conn:
            accounts = list_accounts(conn)
        retrain = self._due("retrain", s.retrain_interval_seconds)
        for account in accounts:
            if self._stop.is_set():
                return
            pull = f"feed-{account.id}"
            if s.feed_pull_interval_seconds > 0 and account.feed_url and self._due(pull, s.feed_pull_interval_seconds):
                job = self.feeds.pull(account.id, account.feed_url)
                if job is None:  # the account's imports (or the server's) are busy: try again next tick
                    self._last.pop(pull, None)
                else:
                    log.info("pulled the feed of account %s: %s", account.id,
                             {k: job[k] for k in ("id", "status", "itemsOk", "itemsBad", "error")})
            untrained = snapshot.newest_version(s.artifacts_path, account.id) is None
            if retrain or untrained or account.id in self.platform.serving.unreadable:
                train_account(self.platform.engine, s.artifacts_path, account.id, s.training_window_days,
                              s.tuning_time_factor)
        if self._due("purge", PURGE_SECONDS):
            self.platform.ctx.tokens.purge_expired()
