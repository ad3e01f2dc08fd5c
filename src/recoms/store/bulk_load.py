"""A connection set up for a long bulk load (`recoms events import`), and the planner's statistics kept
up with the tables it grows."""

from __future__ import annotations

import sqlalchemy as sa

SQLITE_CACHE_KIB = 256 * 1024  # the import connection's page cache (SQLite's default: 2 MB)
SQLITE_CHECKPOINT_PAGES = 16_384  # its commits checkpoint the WAL past 64 MB (default 4 MB: each syncs)
# The tables an import of events grows (their statistics steer the identity lookups and the merges).
GROWN = ("contacts", "contact_identifiers", "carts", "orders", "events", "interactions")


def roomy_cache(conn: sa.Connection) -> None:
    """SQLite keeps 2 MB of pages a connection: once the indexes outgrow that, nearly every insert (they land
    all over the (account, contact) indexes and the identifiers' key) reads its page back from the OS, and
    the import slows as the store grows. Its one connection gets room for the indexes' hot pages."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
        conn.commit()


class Statistics:
    """PostgreSQL plans a statement by the table's statistics, and psycopg keeps the plan of a statement it
    ran five times. A fresh store has none until autovacuum's next round (a minute or more): the identity
    lookups were planned for empty tables, as scans, and stayed so while the import grew them (a customer
    id check took 3-6 ms instead of 0.02). Each time the events loaded since the last ANALYZE reach what
    the table held then, the grown tables are analyzed (a dozen times for a million events into a new
    store; never for a store already much larger than the import), which also drops the kept plans."""

    def __init__(self, conn: sa.Connection) -> None:
        self.postgres = conn.dialect.name == "postgresql"
        self.loaded = 0
        self.next_at = self._analyzed_rows(conn)

    def _analyzed_rows(self, conn: sa.Connection) -> int:
        """The events table's rows as of its last ANALYZE (0: never analyzed, or SQLite)."""
        if not self.postgres:
            return 0
        rows = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'events'::regclass").scalar()
        conn.commit()
        return max(0, int(rows or 0))

    def loaded_rows(self, conn: sa.Connection, events: int) -> None:
        """`events` more are committed: analyze when the events table has doubled since the last time."""
        if not self.postgres:
            return
        self.loaded += events
        if self.loaded <= self.next_at:
            return
        conn.exec_driver_sql(f"ANALYZE {', '.join(GROWN)}")
        conn.commit()
        self.loaded, self.next_at = 0, self._analyzed_rows(conn)
