"""Client event ids (`event_key`): a key is stored once per account, events without one are not in its
index (most events carry none: the index would hold an entry for each), and the retried-batch lookup is
a point lookup on that index, on every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recoms.store import activity
from recoms.store.tables import events

ACCOUNT = 999_997


def _event(key: str | None, ts: int) -> dict:
    return {"account_id": ACCOUNT, "contact_id": None, "type": "ProductPage", "source": "web", "ts": ts,
            "payload": {}, "received_at": ts, "event_key": key}


def test_a_key_is_stored_once_and_keyless_events_are_many(platform):
    engine = platform.engine
    with engine.begin() as conn:
        conn.execute(events.insert(), [_event(None, 1), _event(None, 2), _event("k-1", 3), _event(None, 4)])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(events.insert(), [_event("k-1", 5)])
    with engine.connect() as conn:
        assert activity.known_event_keys(conn, ACCOUNT, ["k-1", "k-2"]) == {"k-1"}
        assert conn.execute(sa.select(sa.func.count()).select_from(events)
                            .where(events.c.account_id == ACCOUNT)).scalar() == 4


def test_the_key_index_holds_keyed_events_only_and_the_lookup_uses_it(platform):
    engine = platform.engine
    with engine.begin() as conn:  # enough rows that a scan would be worth it to no planner
        conn.execute(events.insert(), [_event(None if i % 10 else f"plan-{i}", i) for i in range(5000)])
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE events"))
    query = sa.select(events.c.event_key).where(events.c.account_id == ACCOUNT,
                                                events.c.event_key.in_(["plan-10", "plan-20"]))
    with engine.connect() as conn:
        sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
        if engine.dialect.name == "sqlite":
            plan = " ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "ux_events_account_event_key (account_id=? AND event_key=?)" in plan, plan
            entries = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ux_events_account_event_key'").scalar()
        else:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "ux_events_account_event_key" in plan and "Seq Scan" not in plan, plan
            entries = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ux_events_account_event_key'").scalar()
    assert "WHERE" in entries and "event_key IS NOT NULL" in entries, entries
