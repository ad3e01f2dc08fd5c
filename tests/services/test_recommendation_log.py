"""The recommendation log: ids on the hot path, batches written off it, bounded, flushed at shutdown."""

from __future__ import annotations

import time

import sqlalchemy as sa

from recoms.domain import attribution
from recoms.services.attribution import RecommendationLog, number_time
from recoms.store import recommendation_log
from recoms.store.tables import recommendation_log as table


def rows(engine, account_id: int) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(table.c.account_id == account_id).order_by(table.c.id)))


def test_record_numbers_lists_and_the_flusher_writes_them(platform, shop):
    log = RecommendationLog(platform.engine, flush_seconds=0.05)
    ids = [log.record(shop.account_id, 5, 1, 77, ["P1", "P2"]) for _ in range(3)]
    assert len(set(ids)) == 3
    refs = [attribution.parse_id(i) for i in ids]
    assert all(r.datasource_id == 5 and r.variant_id == 1 for r in refs)
    assert abs(number_time(refs[0].number) - time.time() * 1000) < 5000
    deadline = time.monotonic() + 5
    while len(rows(platform.engine, shop.account_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    found = rows(platform.engine, shop.account_id)
    assert [r.id for r in found] == sorted(r.number for r in refs)
    assert found[0].items == ["P1", "P2"] and found[0].contact_id == 77 and found[0].datasource_id == 5
    with platform.engine.connect() as conn:
        assert recommendation_log.get(conn, shop.account_id, refs[0].number)["variant_id"] == 1
    log.close()


def test_the_queue_is_bounded_and_close_writes_what_is_left(platform, shop):
    log = RecommendationLog(platform.engine, flush_seconds=3600, max_pending=10)
    for _ in range(15):
        log.record(shop.account_id, 1, 0, None, ("P1",))
    assert log.pending == 10  # five were dropped, the answers were not slowed
    log.close()
    assert log.pending == 0 and len(rows(platform.engine, shop.account_id)) == 10


def test_off_it_still_gives_ids_and_stores_nothing(platform, shop):
    log = RecommendationLog(platform.engine, enabled=False)
    assert attribution.parse_id(log.record(shop.account_id, 1, 0, None, ["P1"])) is not None
    log.close()
    assert rows(platform.engine, shop.account_id) == []


def test_a_failed_write_keeps_the_lists_for_the_next_round(platform, shop):
    broken = sa.create_engine("sqlite:////nonexistent-dir/none.db")
    log = RecommendationLog(broken, flush_seconds=3600)
    log.record(shop.account_id, 1, 0, None, ["P1"])
    assert log.flush() == 0 and log.pending == 1
    log.engine = platform.engine
    assert log.flush() == 1 and len(rows(platform.engine, shop.account_id)) == 1
    log.close()


def test_on_sqlite_the_event_loop_writes_its_lists_and_waits_for_another_writer(tmp_path):
    """`write_on_loop`: the loop that recorded the lists writes them (the thread's round is an hour away),
    in small batches; while another writer holds the lock they wait in the queue, and none is lost."""
    import asyncio

    from recoms.services import attribution as service
    from recoms.store import db

    engine = db.make_engine(f"sqlite:///{tmp_path}/log.db")
    db.migrate(engine)
    connections = db.DriverConnections(engine)
    log = RecommendationLog(engine, flush_seconds=3600, batch_size=7)
    log.write_on_loop(connections)
    holder = engine.connect()

    async def main() -> list[str]:
        first = [log.record(1, 5, 0, None, ["P1"]) for _ in range(3)]
        await asyncio.sleep(service.LOOP_FLUSH_SECONDS * 4)
        assert len(rows(engine, 1)) == 3
        holder.begin()  # another writer holds the lock
        held = [log.record(1, 5, 1, 9, ["P2", "P3"]) for _ in range(20)]
        await asyncio.sleep(service.LOOP_FLUSH_SECONDS * 4)
        assert log.pending == 20  # waiting, not dropped
        holder.rollback()
        for _ in range(100):
            if not log.pending:
                break
            await asyncio.sleep(0.01)
        return first + held

    ids = asyncio.run(main())
    holder.close()
    found = rows(engine, 1)
    assert [r.id for r in found] == sorted(attribution.parse_id(i).number for i in ids)
    assert found[-1].items == ["P2", "P3"] and found[-1].contact_id == 9 and found[-1].variant_id == 1
    log.close()
    connections.close()
    engine.dispose()
