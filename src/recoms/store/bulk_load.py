"""Connections that write in bulk (the group-commit writer, `recoms events import`): set up for it, and the
planner's statistics kept up with the tables they grow."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from psycopg import pq

from recoms.store.db import checkpoint

log = logging.getLogger(__name__)

SQLITE_CACHE_KIB = 256 * 1024  # the import connection's page cache (SQLite's default: 2 MB)
# The tables an import of events grows (their statistics steer the identity lookups and the merges).
GROWN = ("contacts", "contact_identifiers", "carts", "orders", "events", "interactions")
# What tracking's statements are planned by: the tables it grows, and the catalog whose prices it patches.
TRACKED = (*GROWN, "products")
# Tables changed by at least %s rows if never analyzed, else %s, and by more than they held when last analyzed.
OUTGROWN_POSTGRES = (
    "SELECT s.relname FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid "
    "WHERE s.schemaname = current_schema() AND s.relname = ANY(%s) "
    "AND s.n_mod_since_analyze >= CASE WHEN c.reltuples < 0 THEN %s ELSE %s END "
    "AND s.n_mod_since_analyze > GREATEST(c.reltuples, 0)")
# A table never analyzed is planned as empty, and a statement planned so can cost time in the square of
# its rows: the identifiers' lookup of a group commit, planned through the (account, contact) index, filtered
# every identifier of the account for each identifier it looked for: one ran for 1 min 45 s at 1,761
# identifiers (a demo shop's load). Analyzed once, the planner scales its counts with the table's size.
FIRST_CHANGED = 50
ANALYZING_LOCK = 0x7265636F6D73  # one process analyzes at a time (an advisory lock's key)


def roomy_cache(conn: sa.Connection) -> None:
    """SQLite keeps 2 MB of pages a connection: once the indexes outgrow that, nearly every insert (they land
    all over the (account, contact) indexes and the identifiers' key) reads its page back from the OS, and
    the import slows as the store grows. Its one connection gets room for the indexes' hot pages.

    Its commits do not checkpoint the WAL: the caller has it checkpointed beside them (`checkpoints_beside`).
    Each chunk dirties pages all over those indexes, more as they grow, and a commit that checkpointed
    copied them into the database and synced it while the import waited: 3 ms a chunk at first, 70 ms
    after a million events (16,000 events/s over the last tenth of the file; beside it, 19,000)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
        conn.commit()


@contextmanager
def checkpoints_beside(engine: sa.Engine, every_seconds: float = 0.5) -> Iterator[None]:
    """SQLite (a file): a thread checkpoints the WAL every `every_seconds` while the block writes, and once
    more at its end (the checkpoint's copying and syncing run in SQLite, beside the writer's Python work).
    Elsewhere: nothing."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every_seconds):
            _checkpoint_or_warn(engine)

    thread = threading.Thread(target=run, name="wal-checkpoints", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        _checkpoint_or_warn(engine)


def _checkpoint_or_warn(engine: sa.Engine) -> None:
    try:
        checkpoint(engine)
    except sa.exc.SQLAlchemyError as exc:  # the writer goes on; the next one copies what this one did not
        log.warning("WAL checkpoint failed: %s", exc)


def plan_each_statement(conn: sa.Connection) -> None:
    """PostgreSQL: psycopg prepares a statement it has run five times, and the server may then keep a
    plan made for the tables as they were (a fresh store's, near empty): the group-commit writer's
    identity lookups and merges stayed scans while the tables grew (tracking in batches of 100 fell from
    15,900 to 8,000 events/s once their statements no longer changed text with their row counts; planned
    each time, 21,500). Its statements are planned for their parameters and the tables as they are."""
    if conn.dialect.name == "postgresql":
        conn.connection.driver_connection.prepare_threshold = None


def begin_with_first_statements(conn: sa.Connection) -> None:
    """PostgreSQL: the driver starts a transaction with a BEGIN of its own, a round trip before the first
    statement. On this connection the transaction's first lookups open it (store.group_lookups sends the
    BEGIN in their pipeline) and its last writes commit it (services.ingest_batch.Pending.finish)."""
    if conn.dialect.name == "postgresql":
        conn.connection.driver_connection.autocommit = True


def commit_after(conn: sa.Connection) -> None:
    """PostgreSQL: COMMIT through the driver, after what it has been sent (inside a pipeline: in its round
    trip); SQLAlchemy's own commit then finds nothing to do. SQLite: nothing (the caller commits)."""
    if conn.dialect.name == "postgresql":
        conn.connection.driver_connection.execute("COMMIT")


def opens_transaction(raw: Any) -> bool:
    """Whether statements about to go out on this PostgreSQL driver connection must open the transaction."""
    return raw.autocommit and raw.info.transaction_status == pq.TransactionStatus.IDLE


class Statistics:
    """PostgreSQL plans a statement by the tables' statistics, which autovacuum refreshes only once a tenth
    of a table has changed (and a minute or more later). An import into a fresh store planned the identity
    lookups for empty tables, as scans, while the import grew them (a customer-id check took 3-6 ms instead
    of 0.02); one into a new account of a large store planned for an account of no rows, by whichever
    index starts with the account: each merge read every interaction of the account (100 ms at a million
    events). So the grown tables are analyzed after the first chunk (the account is in the statistics
    then), and again whenever the import has doubled what it loaded while that is more than the tables
    held at the last analysis (a fresh store: eight times for a million events; a large one: once)."""

    FIRST = 5_000  # events loaded before the first ANALYZE

    def __init__(self, conn: sa.Connection) -> None:
        self.postgres = conn.dialect.name == "postgresql"
        self.loaded, self.next_at = 0, self.FIRST

    def loaded_rows(self, conn: sa.Connection, events: int) -> None:
        """`events` more are committed: analyze if it is time."""
        self.loaded += events
        if not self.postgres or self.loaded < self.next_at:
            return
        conn.exec_driver_sql(f"ANALYZE {', '.join(GROWN)}")
        stored = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'events'::regclass").scalar()
        conn.commit()
        self.next_at = max(2 * self.loaded, int(stored or 0))


def analyze_outgrown(conn: sa.Connection, tables: tuple[str, ...] = TRACKED, min_changed: int = 1000) -> list[str]:
    """PostgreSQL: analyze those of `tables` that changed by at least `min_changed` rows and by more than
    they held when last analyzed (a growing store: at each doubling; a large one is left to autovacuum), or
    that were never analyzed and changed by FIRST_CHANGED rows, unless another process is analyzing.
    Commits; returns the tables analyzed."""
    if conn.dialect.name != "postgresql":
        return []
    with conn.begin():
        if not conn.exec_driver_sql("SELECT pg_try_advisory_xact_lock(%s)", (ANALYZING_LOCK,)).scalar():
            return []
        outgrown = [name for (name,) in conn.exec_driver_sql(
            OUTGROWN_POSTGRES, (list(tables), min(FIRST_CHANGED, min_changed), min_changed))]
        if outgrown:  # names from `tables`, read back from the catalog
            conn.exec_driver_sql(f"ANALYZE {', '.join(outgrown)}")
    return outgrown
