"""PostgreSQL's statistics kept up with a store that tracking grows (SQLite needs none: its planner takes
the index that fits).

autovacuum analyzes a table once a tenth of it changed, and looks at each database once a minute. Until then
a fresh store's statements were planned for empty tables: the identifiers' lookup filtered every identifier
of the account through the (account, contact) index, and the tracker's price patch read the whole catalog
(5-9 ms a statement at 20k products), so the group-commit writer managed 1,100-2,400 single events a second.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import sqlalchemy as sa

from recoms.store import bulk_load

log = logging.getLogger(__name__)


class StatisticsKeeper:
    """Poked after each commit of the group-commit writer; at most every CHECK_SECONDS a thread of its own
    (ANALYZE takes no lock a writer waits for) analyzes the tables that outgrew their statistics."""

    CHECK_SECONDS = 2.0
    AFTER_FAILURE_SECONDS = 600.0  # e.g. a database user that may not analyze: warned once in a while

    def __init__(self, engine: sa.Engine, tables: tuple[str, ...] = bulk_load.TRACKED) -> None:
        self.engine, self.tables = engine, tables
        self.enabled = engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._next_check = 0.0
        self._checking_pid = 0  # the process whose thread is checking (a forked worker starts afresh)

    def poke(self) -> None:
        if not self.enabled or time.monotonic() < self._next_check:
            return
        with self._lock:
            if self._checking_pid == os.getpid() or time.monotonic() < self._next_check:
                return
            self._checking_pid, self._next_check = os.getpid(), time.monotonic() + self.CHECK_SECONDS
        threading.Thread(target=self._check, name="statistics-keeper", daemon=True).start()

    def _check(self) -> None:
        try:
            with self.engine.connect() as conn:
                analyzed = bulk_load.analyze_outgrown(conn, self.tables)
            if analyzed:
                log.info("analyzed %s", ", ".join(analyzed))
        except Exception:  # the statistics wait for autovacuum; tracking goes on
            self._next_check = time.monotonic() + self.AFTER_FAILURE_SECONDS
            log.warning("analyzing the tracked tables failed; trying again in %.0f s", self.AFTER_FAILURE_SECONDS,
                        exc_info=True)
        finally:
            self._checking_pid = 0
