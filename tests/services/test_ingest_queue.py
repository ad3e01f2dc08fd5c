"""Group commit: concurrent tracking requests are stored together, each answered once committed."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from recoms.domain.product import Product
from recoms.services.ingest_queue import IngestQueue
from recoms.services.tracking import parse_events
from recoms.store.products import upsert_products
from recoms.store.tables import carts, contact_identifiers, events, products
from tests.conftest import envelope


def test_concurrent_requests_share_transactions_and_all_are_stored(shop, platform):
    queue = IngestQueue(platform.engine)
    futures, lock = [], threading.Lock()

    def send(n: int) -> None:
        parsed = parse_events([envelope("ProductPage", {"productKey": f"P{n}"}, sc=f"v{n % 5}")])
        with lock:
            futures.append(queue.submit(shop.account_id, parsed, "web"))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [f.result(timeout=30) for f in futures]
    queue.stop()
    assert all(r.accepted == 1 and not r.errors for r in results)
    assert queue.transactions < len(results)  # many requests per transaction
    with platform.engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(events).where(
            events.c.account_id == shop.account_id)).scalar()
    assert stored == 200


def test_one_bad_request_in_a_group_does_not_fail_the_others(shop, platform):
    queue = IngestQueue(platform.engine)
    good = queue.submit(shop.account_id, parse_events([envelope("MainPage", {}, sc="a")]), "web")
    bad = queue.submit(shop.account_id, parse_events([{"GeneralInfo": {"eventName": "MainPage"}}]), "web")
    assert good.result(10).accepted == 1
    assert bad.result(10).accepted == 0 and "no visitor identifier" in bad.result(10).errors[0]["reason"]
    queue.stop()


def test_each_group_is_committed_with_its_new_visitors_carts_and_price_patches(shop, platform):
    """The writer keeps contact ids taken ahead from group to group, and on PostgreSQL opens each group's
    transaction with its lookups and commits it with its last writes: every group is stored and
    committed, and every new visitor is a contact of its own."""
    with platform.engine.begin() as conn:
        upsert_products(conn, shop.account_id, [Product(id="P1", name="One", price=10.0, url="https://s.example/1")],
                        None)
    queue = IngestQueue(platform.engine)
    visitors = [f"group-visitor-{n}" for n in range(30)]
    for group in range(3):
        futures = []
        for sc in visitors[group * 10:(group + 1) * 10]:
            futures.append(queue.submit(shop.account_id, parse_events([
                envelope("ProductPage", {"productKey": "P1", "price": 12.5 + group}, sc=sc),
                envelope("StatusCart", {"Products": [{"productKey": "P1", "quantity": 2}]}, sc=sc)]), "web"))
        assert [f.result(timeout=30).accepted for f in futures] == [2] * 10
        with platform.engine.connect() as conn:  # another connection sees the group: it is committed
            ci = contact_identifiers
            holders = dict(conn.execute(sa.select(ci.c.value, ci.c.contact_id).where(
                ci.c.account_id == shop.account_id, ci.c.kind == "cookie")).all())
            assert sorted(holders) == sorted(visitors[:(group + 1) * 10])
            assert len(set(holders.values())) == len(holders)  # a contact each
            carts_stored = conn.execute(sa.select(sa.func.count()).select_from(carts).where(
                carts.c.account_id == shop.account_id)).scalar()
            assert carts_stored == (group + 1) * 10
            price = conn.execute(sa.select(products.c.price).where(
                products.c.account_id == shop.account_id, products.c.id == "P1")).scalar()
            assert price == 12.5 + group
    queue.stop()
    with platform.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events).where(
            events.c.account_id == shop.account_id)).scalar() == 60


def test_after_the_writer_stops_every_pooled_connection_runs_transactions(shop, platform):
    """The writer's PostgreSQL connection opens and commits transactions itself: it must not go back to
    the pool, where the next user's statements would each commit on their own."""
    queue = IngestQueue(platform.engine)
    assert queue.submit(shop.account_id, parse_events([envelope("MainPage", {}, sc="pool")]), "web").result(10)
    queue.stop()
    engine = platform.engine
    conns = [engine.connect() for _ in range(engine.pool.checkedin() + 1)]
    try:
        for conn in conns:
            with conn.begin() as tx:
                conn.execute(events.insert().values(
                    account_id=shop.account_id, contact_id=None, type="MainPage", source="web", ts=1,
                    payload={}, received_at=1, event_key="rolled-back"))
                tx.rollback()
    finally:
        for conn in conns:
            conn.close()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events).where(
            events.c.account_id == shop.account_id, events.c.event_key == "rolled-back")).scalar() == 0


def test_a_key_stored_by_another_writer_meanwhile_fails_the_group_only_and_each_request_is_answered(
        shop, platform, monkeypatch):
    """PostgreSQL: the group's insert and COMMIT go out together; a unique key another connection stored
    after the group looked it up fails them at the end: the requests are stored one by one (the clash is
    a duplicate), and the writer's next group goes through."""
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writer holds the write lock from its first lookup: nobody stores meanwhile")
    from recoms.store import group_lookups
    look_up = group_lookups.look_up

    def racing_look_up(conn, account_id, *args, **kwargs):
        found = look_up(conn, account_id, *args, **kwargs)
        monkeypatch.setattr(group_lookups, "look_up", look_up)  # once
        with platform.engine.begin() as other:
            other.execute(events.insert().values(
                account_id=shop.account_id, contact_id=None, type="MainPage", source="api", ts=1, payload={},
                received_at=1, event_key="eventId:raced"))
        return found

    monkeypatch.setattr(group_lookups, "look_up", racing_look_up)
    queue = IngestQueue(platform.engine)
    keyed = envelope("MainPage", {}, sc="racer")
    keyed["GeneralInfo"]["eventId"] = "raced"
    raced = queue.submit(shop.account_id, parse_events([keyed]), "web").result(10)
    assert raced.accepted == 1 and raced.duplicates and "raced" in raced.duplicates[0]["reason"]
    after = queue.submit(shop.account_id, parse_events([envelope("MainPage", {}, sc="after")]), "web").result(10)
    assert after.accepted == 1 and not after.errors
    assert queue.transactions == 1  # the raced group was not committed as a group; the next one was
    queue.stop()
    with platform.engine.connect() as conn:
        keys = conn.execute(sa.select(events.c.event_key).where(events.c.account_id == shop.account_id)).scalars()
        assert sorted(keys, key=str) == sorted([None, "eventId:raced"], key=str)
