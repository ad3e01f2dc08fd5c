"""Engine creation by URL, SQLite tuning, and migrations to head."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def now_ms() -> int:
    return int(time.time() * 1000)


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver we ship)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> sa.Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8, max_overflow=16
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so writers lock up front.
        sa.event.listen(engine, "begin", _begin_immediate)
        return engine
    # Pre-ping replaces connections a restarted server dropped; short connect and pool timeouts turn a
    # server that is down into a 503 within seconds instead of a hung request.
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=5,
                            connect_args={"connect_timeout": 3})


class DriverConnections:
    """A few of the driver's own connections, in autocommit mode, for the hot path's single statements
    (a token exchange, a contact's history): one round trip each, with no BEGIN/COMMIT and no pool reset.
    At most MAX_CONNECTIONS run at once. A connection idle for longer than PING_AFTER_SECONDS is pinged
    before use (the server may have restarted meanwhile). A statement failing because the server went
    away closes its connection and the idle ones; the next call opens a new one. Errors are raised as
    SQLAlchemy's (a server that does not answer is a 503 here as everywhere). SQLite: the connections keep
    SQLite's busy handler off, and a statement another writer's lock refused is tried again in short steps
    (`_when_unlocked`): switching the handler off and on around each transaction cost two statements."""

    MAX_CONNECTIONS = 8
    PING_AFTER_SECONDS = 5.0

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        # Idle connections with when they were last used, newest last; `_busy` counts those in use. A plain
        # lock (and a condition only when all are busy): a semaphore and a queue cost more than the statement.
        self._idle: list = []
        self._busy = 0
        self._waiting = 0
        self._free = threading.Condition(threading.Lock())
        dbapi = engine.dialect.loaded_dbapi
        self._error = dbapi.Error
        self._gone = (dbapi.OperationalError, dbapi.InterfaceError)  # the server, not the statement

    def _open(self):
        proxy = self.engine.raw_connection()
        conn = proxy.dbapi_connection  # the driver's own connection, with the engine's connect settings
        proxy.detach()  # ours now: the pool neither resets nor reuses it
        if self.sqlite:  # in autocommit mode already (see _sqlite_pragmas); waits for the lock are ours
            conn.execute("PRAGMA busy_timeout=0")
        else:
            conn.autocommit = True
        return conn

    def _take(self) -> tuple[Any, float] | None:
        """An idle connection (None: open one); waits while MAX_CONNECTIONS are in use."""
        with self._free:
            while self._busy >= self.MAX_CONNECTIONS:
                self._waiting += 1
                self._free.wait()
                self._waiting -= 1
            self._busy += 1
            return self._idle.pop() if self._idle else None

    def _give_back(self, conn) -> None:
        with self._free:
            self._busy -= 1
            if conn is not None:
                self._idle.append((conn, time.monotonic()))
            if self._waiting:
                self._free.notify()

    def _checkout(self):
        while True:
            held = self._take()
            if held is None:
                return self._open()
            conn, used = held
            if self.sqlite or time.monotonic() - used < self.PING_AFTER_SECONDS:
                return conn
            try:
                conn.execute("SELECT 1")
                return conn
            except self._error:
                self.close()  # the server restarted while they were idle: all of them are gone
                _close(conn)
                self._give_back(None)

    def execute(self, sql: str, params: tuple) -> list:
        """The statement's rows (none for a statement that returns none)."""
        if self.sqlite:
            return self._run(lambda cur: _when_unlocked(lambda: _rows(cur, sql, params)), sql, params)
        return self._run(lambda cur: _rows(cur, sql, params), sql, params)

    def transaction(self, work: Callable[[Statements], Any], wait: bool = True) -> Any:
        """`work(execute)` in one transaction (SQLite: taking the write lock up front), committed when it
        returns, rolled back when it raises: many short statements, one commit (one WAL write, one fsync).
        `execute(sql, params)` answers the rows; `execute.many(sql, rows)` runs one statement for each row.
        `wait=False` (SQLite): raise WriteLockBusy at once when another writer holds the lock."""
        def run(cur):
            if self.sqlite:
                _take_write_lock(cur, wait, busy_timeout=False)
            else:
                cur.execute("BEGIN")
            try:
                result = work(Statements(cur))
            except BaseException:
                with contextlib.suppress(Exception):
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            return result

        return self._run(run, "BEGIN", ())

    def _run(self, work: Callable[[Any], Any], sql: str, params: tuple) -> Any:
        try:
            conn = self._checkout()
        except BaseException as exc:  # no connection (the engine's connect raises SQLAlchemy's errors already)
            self._give_back(None)
            if isinstance(exc, self._error):
                raise sa.exc.DBAPIError.instance(sql, params, exc, self._error, hide_parameters=True) from exc
            raise
        try:
            cur = conn.cursor()
            result = work(cur)
            cur.close()
        except self._error as exc:
            _close(conn)  # a broken connection is never reused
            self._give_back(None)
            if isinstance(exc, self._gone):  # the idle ones broke with it: each would fail a request
                self.close()
            raise sa.exc.DBAPIError.instance(sql, params, exc, self._error, hide_parameters=True) from exc
        except WriteLockBusy:  # nothing began: the connection is as good as before (closing it cost a reconnect)
            self._give_back(conn)
            raise
        except BaseException:
            _close(conn)
            self._give_back(None)
            raise
        self._give_back(conn)
        return result

    def close(self) -> None:
        """Close the idle connections (those in use are closed when they fail, or kept for the next call)."""
        with self._free:
            idle, self._idle = self._idle, []
        for conn, _used in idle:
            _close(conn)


def _begin_immediate(conn: sa.Connection) -> None:
    """SQLAlchemy's BEGIN on SQLite (its `begin` event): the write lock up front, raising as SQLAlchemy does."""
    cur = conn.connection.driver_connection.cursor()
    try:
        _take_write_lock(cur)
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance("BEGIN IMMEDIATE", (), exc, sqlite3.Error) from exc
    finally:
        cur.close()


class WriteLockBusy(Exception):
    """SQLite: another writer holds the write lock, and the caller would rather not wait for it."""


def _take_write_lock(cur, wait: bool = True, busy_timeout: bool = True) -> None:
    """BEGIN IMMEDIATE, waiting for another writer in short steps: SQLite's own busy handler sleeps 1, 2,
    5, 10 ... 100 ms between tries, so a wait behind a writer of a millisecond often cost tens of ms (two
    workers exchanging tokens: a p99 of 115 ms, 25 ms with these steps). `wait=False`: WriteLockBusy.
    `busy_timeout`: the connection has SQLite's busy handler on (the engine's), off for the while."""
    if busy_timeout:
        cur.execute("PRAGMA busy_timeout=0")
    try:
        _when_unlocked(lambda: _begin(cur), wait)
    finally:
        if busy_timeout:
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _begin(cur) -> None:
    cur.execute("BEGIN IMMEDIATE")
    if not cur.connection.in_transaction:
        # No transaction began: seen under concurrent requests on a connection whose BEGIN had been
        # refused before (Python 3.11's sqlite3; its COMMIT then failed). As busy: try again.
        raise sqlite3.OperationalError("database is locked")


def _when_unlocked(attempt: Callable[[], Any], wait: bool = True) -> Any:
    """`attempt()` (a statement on a connection without SQLite's busy handler), tried again in short steps
    while another writer holds the lock, for up to BUSY_TIMEOUT_MS. `wait=False`: WriteLockBusy at once.
    A refused statement changed nothing: trying it again is safe."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.0001
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        if not wait:
            raise WriteLockBusy from None
        time.sleep(pause)
        pause = min(pause * 2, 0.002)


class Statements:
    """A transaction's statements (`DriverConnections.transaction`)."""

    __slots__ = ("_cur",)

    def __init__(self, cur) -> None:
        self._cur = cur

    def __call__(self, sql: str, params: tuple) -> list:
        """The statement's rows (none for a statement that returns none)."""
        return _rows(self._cur, sql, params)

    def many(self, sql: str, rows: list[tuple]) -> None:
        """`sql` once for each row, the rows bound by the driver (SQLite: in C, one prepared statement)."""
        self._cur.executemany(sql, rows)


def _rows(cur, sql: str, params: tuple) -> list:
    cur.execute(sql, params)
    return cur.fetchall() if cur.description else []


def _close(conn) -> None:
    with contextlib.suppress(Exception):
        conn.close()


# What the database and Redis drivers raise when the server does not answer (not when a query is wrong).
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError, sa.exc.TimeoutError,
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
)


def dependency_down(exc: BaseException) -> bool:
    """Whether an exception means the database or Redis does not answer (a 503), not a bug (a 500)."""
    if isinstance(exc, DEPENDENCY_ERRORS):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for SQLite's write lock before "database is locked"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy issues BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute(f"PRAGMA journal_size_limit={WAL_FILE_LIMIT}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def checkpoint_in_background(engine: sa.Engine) -> None:
    """SQLite: take WAL checkpoints off the request path (the caller runs `checkpoint` periodically)."""
    if engine.dialect.name != "sqlite":
        return
    sa.event.listen(engine, "connect", lambda dbapi_conn, _r: dbapi_conn.execute("PRAGMA wal_autocheckpoint=0"))
    engine.dispose()


# Past this many WAL frames (4 KB pages: 16 MB) the checkpoint waits for a gap in the writes to start the
# WAL over. Under steady writes a passive checkpoint never finishes, so the WAL never restarts: it grew by
# gigabytes an hour, and every read walks its index, slower as it grows (similar: 5,450 req/s over 20 s
# before, 7,250 after).
WAL_RESTART_FRAMES = 4096
RESTART_WAIT_MS = 250
WAL_FILE_LIMIT = 64 * 1024 * 1024


def checkpoint(engine: sa.Engine) -> tuple[int, int]:
    """A passive WAL checkpoint (copies what it can without waiting); when the WAL has grown past
    WAL_RESTART_FRAMES, a restarting one, which waits briefly for writers and readers to pause, copies
    everything and has the next writer start the WAL over (the file is cut to WAL_FILE_LIMIT then).
    Returns the WAL's frames and how many of them are now in the database (SQLite; (0, 0) otherwise)."""
    if engine.dialect.name != "sqlite":
        return 0, 0
    raw = engine.raw_connection()  # outside any transaction, which a checkpoint refuses
    try:
        conn = raw.driver_connection
        _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames < WAL_RESTART_FRAMES:
            return frames, copied
        conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")  # not the 30 s a request would wait
        try:
            _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return frames, copied
    finally:
        raw.close()


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (idempotent; every command calls it)."""
    command.upgrade(alembic_config(engine), "head")
