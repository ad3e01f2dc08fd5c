"""Engine creation by URL, SQLite tuning, and migrations to head."""

from __future__ import annotations

import time
from pathlib import Path

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
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    # Pre-ping replaces connections a restarted server dropped; short connect and pool timeouts turn a
    # server that is down into a 503 within seconds instead of a hung request.
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=5,
                            connect_args={"connect_timeout": 3})


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


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy issues BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def checkpoint_in_background(engine: sa.Engine) -> None:
    """SQLite: take WAL checkpoints off the request path (the caller runs `checkpoint` periodically)."""
    if engine.dialect.name != "sqlite":
        return
    sa.event.listen(engine, "connect", lambda dbapi_conn, _r: dbapi_conn.execute("PRAGMA wal_autocheckpoint=0"))
    engine.dispose()


def checkpoint(engine: sa.Engine) -> None:
    """A passive WAL checkpoint: copies what it can without waiting for readers or writers."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction, which a checkpoint refuses
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
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
