"""Group commit: concurrent tracking requests are stored together, each answered once committed."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from recoms.services.ingest_queue import IngestQueue
from recoms.services.tracking import parse_events
from recoms.store.tables import events
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
