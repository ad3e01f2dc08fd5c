"""Background jobs of `recoms serve`: first training, periodic retraining, feed pulls, token purge."""

from __future__ import annotations

import logging
import threading
import time

from recoms.services.feeds import import_location
from recoms.services.platform import Platform
from recoms.store.accounts import list_accounts
from recoms.training import snapshot
from recoms.training.train import train_account

log = logging.getLogger(__name__)
PURGE_SECONDS = 3600.0


class Jobs:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict[str, float] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="recoms-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

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
            if s.feed_pull_interval_seconds > 0 and account.feed_url and self._due(
                f"feed-{account.id}", s.feed_pull_interval_seconds
            ):
                report = import_location(self.platform.engine, account.id, account.feed_url, True, None,
                                         s.max_feed_bytes, s.feed_fetch_timeout_seconds)
                log.info("pulled feed of account %s: %s", account.id, report.to_json())
            untrained = snapshot.newest_version(s.artifacts_path, account.id) is None
            if retrain or untrained or account.id in self.platform.serving.unreadable:
                train_account(self.platform.engine, s.artifacts_path, account.id, s.training_window_days)
        if self._due("purge", PURGE_SECONDS):
            self.platform.ctx.tokens.purge_expired()
