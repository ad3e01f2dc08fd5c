"""PostgreSQL's statistics keep up with tables that tracking grows: a table that changed by more than it
held at its last analysis is analyzed (by one process at a time), and left alone once it has been."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from recoms.services.planner_statistics import StatisticsKeeper
from recoms.store import bulk_load


@pytest.fixture(autouse=True)
def own_analyzing_lock(monkeypatch):
    """A lock key of this test's own: a server another test runs on the same PostgreSQL (tests/api/test_kill.py)
    analyzes its tables under the real key, and would make this test's analysis stand aside."""
    monkeypatch.setattr(bulk_load, "ANALYZING_LOCK", int(uuid.uuid4().int % 2**62))


@pytest.fixture
def grown_table(platform):
    engine = platform.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no statistics of its own (its planner takes the index that fits)")
    name = f"stats_probe_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {name} (id integer)")
        conn.exec_driver_sql(f"INSERT INTO {name} SELECT generate_series(1, 5000)")
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")  # the counts reach the statistics now
    yield name
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {name}")


def estimated_rows(engine: sa.Engine, table: str) -> float:
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass").scalar()


def test_a_table_outgrowing_its_statistics_is_analyzed_once(platform, grown_table):
    assert estimated_rows(platform.engine, grown_table) < 0  # never analyzed
    with platform.engine.connect() as conn:
        assert bulk_load.analyze_outgrown(conn, (grown_table,)) == [grown_table]
        assert bulk_load.analyze_outgrown(conn, (grown_table,)) == []  # up to date now
    assert estimated_rows(platform.engine, grown_table) == 5000


def test_another_process_analyzing_is_left_to_it(platform, grown_table):
    with platform.engine.connect() as other:
        other.exec_driver_sql("SELECT pg_advisory_lock(%s)", (bulk_load.ANALYZING_LOCK,))
        with platform.engine.connect() as conn:
            assert bulk_load.analyze_outgrown(conn, (grown_table,)) == []
        other.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (bulk_load.ANALYZING_LOCK,))


def test_the_keeper_analyzes_on_a_thread_of_its_own_when_poked(platform, grown_table):
    keeper = StatisticsKeeper(platform.engine, (grown_table,))
    keeper.poke()
    keeper.poke()  # within CHECK_SECONDS: nothing more
    deadline = time.monotonic() + 10
    while estimated_rows(platform.engine, grown_table) < 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert estimated_rows(platform.engine, grown_table) == 5000


def test_a_keeper_that_cannot_analyze_warns_and_waits_before_trying_again(platform, grown_table, caplog):
    refused = sa.create_engine(platform.engine.url.set(username="no_such_user"))  # refused at login
    keeper = StatisticsKeeper(refused, (grown_table,))
    keeper._check()  # what the keeper's thread runs
    refused.dispose()
    assert "analyzing the tracked tables failed" in caplog.text
    assert keeper._next_check - time.monotonic() > 60  # not again within seconds: the log would fill
    assert estimated_rows(platform.engine, grown_table) < 0


def test_a_table_never_analyzed_is_analyzed_from_a_few_dozen_rows_and_then_at_doublings(platform):
    engine = platform.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no statistics of its own (its planner takes the index that fits)")
    name = f"stats_probe_{uuid.uuid4().hex[:8]}"

    def grow(rows: int) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {name} SELECT generate_series(1, {rows})")
            conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")

    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {name} (id integer)")
    try:
        grow(bulk_load.FIRST_CHANGED - 1)
        with engine.connect() as conn:
            assert bulk_load.analyze_outgrown(conn, (name,)) == []  # a handful: not yet
        grow(1)
        with engine.connect() as conn:
            assert bulk_load.analyze_outgrown(conn, (name,)) == [name]  # planned as empty no more
        assert estimated_rows(engine, name) == bulk_load.FIRST_CHANGED
        grow(bulk_load.FIRST_CHANGED + 1)  # doubled, but analyzed tables wait for min_changed rows
        with engine.connect() as conn:
            assert bulk_load.analyze_outgrown(conn, (name,)) == []
            assert bulk_load.analyze_outgrown(conn, (name,), min_changed=bulk_load.FIRST_CHANGED) == [name]
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {name}")
