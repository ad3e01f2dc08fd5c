"""`recoms events import` in chunks over one connection: what lands in the store, the errors by line, a
re-import reported as duplicates, and the collector left as it was found."""

from __future__ import annotations

import gc

import orjson
import sqlalchemy as sa

from recoms.services import event_import
from recoms.services.accounts import create_account
from recoms.store.tables import contact_identifiers, events, interactions
from tests.conftest import envelope

T0 = 1_760_000_000_000


def lines() -> list[bytes]:
    out = []
    for i in range(10):
        event = envelope("ProductPage", {"productKey": f"P{i % 3}"}, sc=f"v{i % 4}", ts=T0 + i, eventId=f"e{i}")
        out.append(orjson.dumps(event))
    out.insert(3, b"{not json")
    out.insert(6, orjson.dumps(envelope("ProductPage", {}, sc="v9", ts=T0)))  # no productKey
    out.insert(8, b"   ")
    login = envelope("CustomerData", {}, sc="v1", ts=T0 + 20, externalCustomerId="cust-1")
    del login["CustomerData"]
    out.append(orjson.dumps(login))  # the shop's history: a verified link of v1
    return [line + b"\n" for line in out]


def test_an_import_in_chunks_stores_the_good_lines_and_names_the_bad_ones(platform, monkeypatch):
    engine = platform.engine
    account = create_account(engine, "import in chunks")["account_id"]
    monkeypatch.setattr(event_import, "CHUNK", 3)
    frozen = gc.get_freeze_count()
    seen = []
    totals = event_import.import_lines(engine, account, lines(), "web", lambda n, _s: seen.append(n))
    assert gc.get_freeze_count() == frozen
    assert totals["accepted"] == 11 and totals["rejected"] == 2 and totals["duplicates"] == 0
    assert [e["line"] for e in totals["errors"]] == [4, 7]
    assert "not JSON" in totals["errors"][0]["reason"] and "productKey" in totals["errors"][1]["reason"]
    assert seen == sorted(seen) and seen[-1] == totals["lines"] == 13
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(events).where(events.c.account_id == account))
        assert stored.scalar() == 11
        views = conn.execute(sa.select(interactions.c.contact_id).where(interactions.c.account_id == account)).all()
        assert len(views) == 10 and len({r.contact_id for r in views}) == 4  # one contact a visitor
        ci = contact_identifiers.c
        owner = dict(conn.execute(sa.select(ci.value, ci.contact_id).where(ci.account_id == account)).all())
    assert owner["cust-1"] == owner["v1"]
    again = event_import.import_lines(engine, account, lines(), "web")
    assert again["duplicates"] == 10 and again["rejected"] == 2
