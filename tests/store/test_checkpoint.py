"""SQLite's WAL stays bounded under steady writes: the background checkpoint starts it over."""

from __future__ import annotations

import threading
import time

from recoms.store import db


def test_the_wal_starts_over_under_steady_writes(tmp_path, monkeypatch):
    """A passive checkpoint alone never finishes while writes go on, so the WAL never starts over."""
    monkeypatch.setattr(db, "WAL_RESTART_FRAMES", 64)
    engine = db.make_engine(f"sqlite:///{tmp_path}/wal.db")
    db.checkpoint_in_background(engine)  # as a server runs it: no checkpoint on commit
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
    writes = db.DriverConnections(engine)  # autocommitted statements, as the hot path's
    stop = threading.Event()
    written = 0

    def write() -> None:
        nonlocal written
        while not stop.is_set():
            writes.execute("INSERT INTO t VALUES (?)", ("x" * 3000,))
            written += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        # Until the WAL has started over (its frames fell) with writes going on; a loaded machine may
        # need several tries of the restarting checkpoint, which gives up when the writer does not pause.
        restarted, last = False, 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (restarted and written > 1000):
            time.sleep(0.1)
            frames = db.checkpoint(engine)[0]
            restarted, last = restarted or frames < last, frames
    finally:
        stop.set()
        writer.join()
    assert written > 1000 and restarted
    assert writes.execute("SELECT count(*) FROM t", ()) == [(written,)]
    writes.close()
    engine.dispose()
