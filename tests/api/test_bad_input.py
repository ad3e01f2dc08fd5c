"""Hostile and clumsy input: a 4xx naming what is wrong, never a 500, never a lost batch (on SQLite and
PostgreSQL, which refuses NUL bytes and integers beyond 64 bits)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from recoms.services.accounts import create_key
from recoms.store.tables import datasources, events
from tests.conftest import envelope
from tests.feeds import gmc_xml

NUL = "nul\u0000byte"


def now() -> int:
    return int(time.time() * 1000)


def bodies(shop) -> list[tuple[str, str, object]]:
    """A NUL byte where each route writes a string to the store."""
    return [
        ("POST", "/api/v1/auth/contact/token", {"email": f"a{NUL}@b.c"}),
        ("POST", "/api/v1/auth/contact/token", {"externalCustomerId": NUL}),
        ("POST", "/api/v1/datasources", {"name": NUL, "algorithm": "bestsellers"}),
        ("POST", "/api/v1/contact", {"externalCustomerId": NUL}),
        ("POST", "/api/v1/site/domains", {"domain": NUL}),
        ("POST", "/api/v1/feeds", {"url": f"https://example.com/{NUL}"}),
        ("POST", "/api/v1/device", {"deviceId": NUL}),
        ("POST", "/api/v1/user", {"deviceId": "d", "externalUserId": NUL}),
        ("POST", "/api/v1/recoms/1/request", {"products": [NUL]}),
        ("GET", "/api/v1/contacts?email=a%00@b.c", None),
        ("GET", "/api/v2/contacts/recoms/1?webId=nul%00byte", None),
        ("GET", "/api/v1/products/nul%00byte", None),
    ]


def test_a_nul_byte_is_a_400_on_every_route_that_stores_strings(shop):
    shop.datasource(algorithm="bestsellers")
    for method, path, body in bodies(shop):
        r = shop.client.request(method, path, json=body, headers=shop.auth)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json", (method, path)
        assert r.headers["connection"] == "close"
    # Unauthenticated: the tracker and the site script.
    for path in ("/api/v2/tracking", "/api/v2"):
        r = shop.client.post(path, json=envelope("ProductPage", {"productKey": NUL}, siteId=shop.site_id))
        assert r.status_code == 400 and "NUL" in r.json()["errors"][0]["reason"]
    assert shop.client.get("/scripts/nul%00byte.js").status_code == 400


def test_one_bad_event_is_refused_and_the_good_ones_kept(shop, platform):
    good = envelope("ProductPage", {"productKey": "P1"}, sc="v1", ts=now())
    batch = [
        good,
        envelope("ProductPage", {"productKey": NUL}, sc="v1"),
        envelope("ProductPage", {"productKey": "P2"}, sc="v1", user_es_contact_id=2**70),
        envelope("ProductPage", {"productKey": "P3"}, sc="v1", ts=0),
        envelope("ProductPage", {"productKey": "P4"}, sc="v1", ts=-5),
        envelope("StatusCart", {"GUID": "g", "Products": [{"productKey": "P5", "price": 1e308}]}, sc="v1"),
        envelope("PurchasedItems", {"OrderNumber": "O", "Products": [{"product_id": "P6", "quantity": 1e308}]},
                 sc="v1"),
        envelope("ProductPage", {"productKey": "P7"}, sc="v1", ts=1e308),
        {**good, "GeneralInfo": {**good["GeneralInfo"], "cookies": {"sc": "v2"}}},
    ]
    result = shop.events(batch)
    assert result["accepted"] == 2
    reasons = {e["index"]: e["reason"] for e in result["errors"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7]
    assert "NUL" in reasons[1] and "user_es_contact_id" in reasons[2] and "positive" in reasons[3]
    assert "larger than" in reasons[5] and "larger than" in reasons[6]
    with platform.engine.connect() as conn:
        stored = conn.execute(sa.select(events.c.type).where(events.c.account_id == shop.account_id)).all()
    assert len(stored) == 2


def test_the_v2_contact_id_beyond_64_bits_is_a_4xx(shop):
    ds = shop.datasource(algorithm="bestsellers")
    for value in (str(2**64), "0", "-1"):
        r = shop.client.get(f"/api/v2/contacts/recoms/{ds}", params={"contactId": value}, headers=shop.auth)
        assert r.status_code == 422, r.text


def test_mobile_batches_keep_their_good_events(shop):
    key = create_key(shop.platform.engine, shop.account_id, ["mobile"])["api_key"]
    body = {"deviceId": "d1", "events": [
        {"eventTypeKey": "screenView", "occurred": "2026-01-01T10:00:00Z", "params": [{"name": "s", "value": NUL}]},
        {"eventTypeKey": "screenView", "occurred": "2026-01-01T10:00:00Z", "params": [{"name": "s", "value": "ok"}]},
    ]}
    r = shop.client.post("/api/v1/events", json=body, headers={"X-Reteno-Access-Key": key})
    assert r.status_code == 200 and r.json()["accepted"] == 1 and r.json()["errors"][0]["index"] == 0
    seen = [{"occurred": "2026-01-01T10:00:00Z", "productId": "a"}]
    recom = {"events": [{"recomVariantId": NUL, "impressions": seen}, {"recomVariantId": "1", "impressions": seen}]}
    r = shop.client.post("/api/v1/recoms/events", json=recom, headers={"X-Reteno-Access-Key": key})
    assert r.status_code == 200 and r.json()["accepted"] == 1


def test_a_retried_batch_is_not_stored_twice(shop, platform):
    batch = [envelope("ProductPage", {"productKey": f"P{i}"}, sc="v", ts=now(), eventId=f"e-{i}") for i in range(3)]
    batch[1] = {**batch[1], "eventId": "top-level-1"}
    first = shop.events(batch)
    again = shop.events([*batch, envelope("ProductPage", {"productKey": "P9"}, sc="v", eventId="e-9")])
    assert first["accepted"] == 3 and first["duplicates"] == []
    assert again["accepted"] == 4 and [d["index"] for d in again["duplicates"]] == [0, 1, 2]
    with platform.engine.connect() as conn:
        keys = conn.execute(sa.select(events.c.event_key).where(events.c.account_id == shop.account_id)).scalars()
        assert sorted(keys) == ["eventId:e-0", "eventId:e-2", "eventId:e-9", "eventId:top-level-1"]


def test_a_data_source_whose_plugin_is_gone_is_listed_unavailable_and_falls_back(shop, platform):
    shop.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}]))
    shop.events([envelope("PurchasedItems", {"OrderNumber": "1", "Products": [{"product_id": "P2"}]})])
    shop.train()
    with platform.engine.begin() as conn:  # saved while a plugin "gone" was installed
        ds_id = conn.execute(datasources.insert().values(
            account_id=shop.account_id, name="old plugin", algorithm="custom", size=5, params={"plugin": "gone"},
            rules=[], fallback=[{"algorithm": "bestsellers", "params": {"scope": "store"}}], created_at=1,
            updated_at=1)).inserted_primary_key[0]
    listed = shop.client.get("/api/v1/datasources", headers=shop.auth)
    assert listed.status_code == 200
    (gone,) = [d for d in listed.json() if d["id"] == ds_id]
    assert "not installed" in gone["unavailable"]
    assert shop.recommend_ids(ds_id) == ["P2"]  # the fallback answers


@pytest.mark.parametrize("path", ["/api/v1/datasources", "/api/v1/feeds"])
def test_errors_close_the_connection_cleanly(shop, path):
    r = shop.client.post(path, content=b"{not json", headers={**shop.auth, "Content-Type": "application/json"})
    assert r.status_code in (400, 415) and r.headers["connection"] == "close"
