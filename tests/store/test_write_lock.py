"""SQLite writers queue for the write lock in short steps, and give up after the busy timeout."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from recoms.store import db


@pytest.fixture
def engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/lock.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield engine
    engine.dispose()


def test_a_writer_waits_for_the_lock_and_then_writes(engine):
    holder = engine.connect()
    holder.begin()  # BEGIN IMMEDIATE: the write lock
    holder.exec_driver_sql("INSERT INTO t VALUES (1)")
    done = threading.Event()

    def second_writer() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert not done.wait(0.2)  # queued behind the holder
    holder.commit()
    holder.close()
    thread.join(5)
    assert done.is_set()
    writes = db.DriverConnections(engine)
    assert writes.transaction(lambda execute: execute("INSERT INTO t VALUES (3)", ())) == []
    assert writes.execute("SELECT x FROM t ORDER BY x", ()) == [(1,), (2,), (3,)]
    writes.close()


def test_a_writer_gives_up_after_the_busy_timeout(engine, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)
    holder = engine.connect()
    holder.begin()
    try:
        with pytest.raises(sa.exc.OperationalError, match="locked"), engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        writes = db.DriverConnections(engine)
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            writes.transaction(lambda execute: execute("INSERT INTO t VALUES (3)", ()))
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="locked"):  # a single statement waits as long
            writes.execute("INSERT INTO t VALUES (4)", ())
        assert time.monotonic() - started >= 0.3
        # The engine's connections keep SQLite's busy handler; the hot path's have it off (they wait in steps).
        raw = engine.raw_connection()
        assert raw.cursor().execute("PRAGMA busy_timeout").fetchall() == [(300,)]
        raw.close()
        assert writes.execute("PRAGMA busy_timeout", ()) == [(0,)]
        writes.close()
    finally:
        holder.rollback()
        holder.close()


def test_a_single_statement_waits_in_steps_for_a_writer_and_then_writes(engine):
    writes = db.DriverConnections(engine)
    holder = engine.connect()
    holder.begin()
    holder.exec_driver_sql("INSERT INTO t VALUES (1)")
    releaser = threading.Timer(0.15, lambda: (holder.commit(), holder.close()))
    releaser.start()
    started = time.monotonic()
    try:
        assert writes.execute("INSERT INTO t VALUES (2) RETURNING x", ()) == [(2,)]
        waited = time.monotonic() - started
    finally:
        releaser.join(5)
    assert 0.1 <= waited < 1.0  # behind the holder, and not SQLite's handler's long sleeps after it
    assert writes.execute("SELECT x FROM t ORDER BY x", ()) == [(1,), (2,)]
    writes.close()


def test_a_writer_that_will_not_wait_is_told_at_once(engine):
    holder = engine.connect()
    holder.begin()
    writes = db.DriverConnections(engine)
    try:
        with pytest.raises(db.WriteLockBusy):
            writes.transaction(lambda execute: execute("INSERT INTO t VALUES (3)", ()), wait=False)
    finally:
        holder.rollback()
        holder.close()
    assert writes.transaction(lambda execute: execute("INSERT INTO t VALUES (4)", ()), wait=False) == []
    assert writes.execute("SELECT x FROM t", ()) == [(4,)]  # nothing of the refused one
    writes.close()


def test_a_writer_told_to_wait_keeps_its_connection(engine):
    """Nothing began: the refused writer's connection goes back to the idle ones (closing it cost a
    reconnect per refusal, each taking a connection from the engine's pool)."""
    writes = db.DriverConnections(engine)
    writes.execute("SELECT 1", ())
    [(connection, _)] = writes._idle
    holder = engine.connect()
    holder.begin()
    try:
        for _ in range(3):
            with pytest.raises(db.WriteLockBusy):
                writes.transaction(lambda execute: execute("INSERT INTO t VALUES (3)", ()), wait=False)
    finally:
        holder.rollback()
        holder.close()
    assert [conn for conn, _ in writes._idle] == [connection]
    assert writes.transaction(lambda execute: execute("INSERT INTO t VALUES (4)", ()), wait=False) == []
    assert [conn for conn, _ in writes._idle] == [connection]
    writes.close()


class _BeginAnsweredUnrun:
    """A cursor whose first BEGIN returns without starting a transaction, as Python's sqlite3 did under
    concurrent requests on a connection whose BEGIN had been refused before."""

    def __init__(self, cursor) -> None:
        self.cursor, self.connection, self.skipped = cursor, cursor.connection, False

    def execute(self, sql: str, *params):
        if sql == "BEGIN IMMEDIATE" and not self.skipped:
            self.skipped = True
            return self
        return self.cursor.execute(sql, *params)


def test_a_begin_that_started_no_transaction_is_tried_again(engine):
    raw = engine.raw_connection()
    try:
        cursor = _BeginAnsweredUnrun(raw.driver_connection.cursor())
        with pytest.raises(db.WriteLockBusy):  # the caller that will not wait comes back later
            db._take_write_lock(cursor, wait=False)
        assert not raw.driver_connection.in_transaction
        cursor = _BeginAnsweredUnrun(raw.driver_connection.cursor())
        db._take_write_lock(cursor, wait=True)
        assert raw.driver_connection.in_transaction  # the retry began one
        raw.driver_connection.execute("ROLLBACK")
    finally:
        raw.close()
