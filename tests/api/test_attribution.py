"""Attribution end to end: recommendation ids in responses, impressions and clicks from the web tracker,
the mobile SDK and the API, purchases credited with known answers, and the analytics API."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from recoms.domain import attribution
from recoms.services.attribution import RECOMMENDATION_ID_HEADER
from recoms.store.tables import recom_events, recommendation_log
from tests.conftest import envelope
from tests.feeds import gmc_xml

DAY = 86_400_000
PRODUCTS = [{"id": f"P{i}", "price": 10.0 + i, "category": "Home > Kitchen"} for i in range(1, 9)]


def iso_day(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms / 1000))


@pytest.fixture
def store(shop):
    shop.feed(gmc_xml(PRODUCTS))
    shop.events([envelope("ProductPage", {"productKey": f"P{i}"}, sc=f"seed-{i}") for i in range(1, 9)])
    shop.train()
    return shop


def mobile_recommend(shop, ds_id: int, device: str, **body: Any):
    r = shop.client.post(f"/api/v1/recoms/{ds_id}/request", json=body,
                         headers={**shop.auth, "X-Reteno-Device-ID": device})
    assert r.status_code == 200, r.text
    return r


def flush(shop) -> None:
    shop.platform.recommendation_log.flush()


def analytics(shop, ds_id: int, start: int) -> dict:
    r = shop.client.get(f"/api/v1/analytics/datasources/{ds_id}",
                        params={"from": iso_day(start), "to": iso_day(int(time.time() * 1000))}, headers=shop.auth)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_mobile_response_names_its_list_in_the_header_and_the_body_and_logs_it(store):
    ds = store.datasource(algorithm="bestsellers", size=3)
    store.token(userPseudoId="dev-1")  # the device's contact
    r = mobile_recommend(store, ds, "dev-1")
    rid = r.headers[RECOMMENDATION_ID_HEADER]
    assert r.json()["recommendationId"] == rid
    ref = attribution.parse_id(rid)
    assert (ref.datasource_id, ref.variant_id) == (ds, 0)
    flush(store)
    with store.platform.engine.connect() as conn:
        row = conn.execute(sa.select(recommendation_log).where(recommendation_log.c.id == ref.number)).one()
    assert row.items == [p["productId"] for p in r.json()["recoms"]] and row.contact_id is not None
    assert row.account_id == store.account_id and row.datasource_id == ds


def test_click_then_purchase_counts_once_with_its_revenue_and_nothing_else_does(store):
    ds = store.datasource(algorithm="bestsellers", size=4)
    rid = mobile_recommend(store, ds, "any-device").headers[RECOMMENDATION_ID_HEADER]
    now = int(time.time() * 1000)
    t0 = now - 20 * DAY
    shown = {"recommendationId": rid, "Products": [{"product_id": "P1", "container_type": "alternatives"},
                                                   {"product_id": "P2"}]}
    store.events([
        envelope("ProductImpressions", shown, sc="v1", ts=t0),
        envelope("ProductPage", {"productKey": "P1", "recommendationId": rid}, sc="v1", ts=t0 + 60_000),  # the click
        envelope("PurchasedItems", {"OrderNumber": "O1", "Products": [
            {"product_id": "P1", "unit_price": 20.0, "quantity": 2}, {"product_id": "P3", "unit_price": 5.0}]},
            sc="v1", ts=t0 + DAY),
        # Another contact buys the clicked product: not credited.
        envelope("PurchasedItems", {"OrderNumber": "O2", "Products": [{"product_id": "P1", "unit_price": 20.0}]},
                 sc="v2", ts=t0 + DAY),
        # The impressed P2 bought eight days later: outside the 7-day window.
        envelope("PurchasedItems", {"OrderNumber": "O3", "Products": [{"product_id": "P2", "unit_price": 12.0}]},
                 sc="v1", ts=t0 + 8 * DAY),
    ])
    # The order re-sent (a retried webhook): recorded once, credited once.
    store.events([envelope("PurchasedItems", {"OrderNumber": "O1", "Products": [
        {"product_id": "P1", "unit_price": 20.0, "quantity": 2}]}, sc="v1", ts=t0 + DAY)])
    report = analytics(store, ds, t0)
    totals = report["totals"]
    assert (totals["impressions"], totals["clicks"], totals["orders"], totals["revenue"]) == (2, 1, 1, 40.0)
    assert totals["ctr"] == 0.5
    (control,) = report["variants"]
    assert (control["id"], control["orders"], control["revenue"]) == (0, 1, 40.0)
    assert control["revenuePerImpression"]["value"] == 20.0
    days = {d["date"]: d for d in report["daily"]}
    assert days[iso_day(t0)]["impressions"] == 2 and days[iso_day(t0 + DAY)]["revenue"] == 40.0
    assert len(report["daily"]) == 21 and "Wilson" in report["methods"]
    # The shop's whole revenue in the period: 40 + 5 + 20 + 12; 40 of it from recommendations.
    r = store.client.get("/api/v1/analytics/revenue", params={"from": iso_day(t0)}, headers=store.auth)
    assert r.status_code == 200, r.text
    shop_wide = r.json()
    assert (shop_wide["revenue"], shop_wide["recommendationRevenue"]) == (77.0, 40.0)
    assert shop_wide["share"] == pytest.approx(40 / 77)
    assert [d["id"] for d in shop_wide["datasources"]] == [ds]


def test_a_cancelled_order_and_an_impression_of_another_shop_count_nothing(store, make_shop):
    ds = store.datasource(algorithm="bestsellers", size=4)
    rid = mobile_recommend(store, ds, "d").headers[RECOMMENDATION_ID_HEADER]
    t0 = int(time.time() * 1000) - 3 * DAY
    store.events([
        envelope("ProductPage", {"productKey": "P4", "recommendationId": rid}, sc="v9", ts=t0),
        envelope("PurchasedItems", {"OrderNumber": "C1", "Products": [{"product_id": "P4", "unit_price": 9.0}]},
                 sc="v9", ts=t0 + 1000),
    ])
    assert analytics(store, ds, t0)["totals"]["revenue"] == 9.0
    r = store.client.post("/api/v1/mobile/events", json=[{"eventName": "orderCancelled", "userPseudoId": "dev-c",
                                                          "params": {"orderNumber": "C1"}}], headers=store.auth)
    assert r.status_code == 200, r.text
    assert analytics(store, ds, t0)["totals"]["revenue"] == 0.0  # a cancelled order earns nothing
    other = make_shop()
    other.events([envelope("ProductPage", {"productKey": "P4", "recommendationId": rid}, sc="v9", ts=t0)])
    with store.platform.engine.connect() as conn:
        foreign = conn.execute(sa.select(recom_events.c.datasource_id)
                               .where(recom_events.c.account_id == other.account_id)).scalars().all()
    assert foreign == [None]  # another account's data source id is not taken as this one's


def test_mobile_sdk_impressions_and_clicks_get_their_variant_and_list(store):
    ds = store.datasource(algorithm="bestsellers", size=4, variants=[{"share": 50}])
    store.token(userPseudoId="dev-7")
    rid = mobile_recommend(store, ds, "dev-7").headers[RECOMMENDATION_ID_HEADER]
    ref = attribution.parse_id(rid)
    now_s = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s - 60))
    body = {"events": [
        {"recomVariantId": f"r{ds}v1", "impressions": [{"occurred": stamp, "productId": "P1"}], "clicks": []},
        {"recomVariantId": rid, "impressions": [], "clicks": [{"occurred": stamp, "productId": "P2"}]},
    ]}
    r = store.client.post("/api/v1/recoms/events", json=body, headers={**store.auth, "X-Reteno-Device-ID": "dev-7"})
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    with store.platform.engine.connect() as conn:
        rows = conn.execute(sa.select(recom_events).where(recom_events.c.account_id == store.account_id)
                            .order_by(recom_events.c.id)).all()
    assert [(r.kind, r.datasource_id, r.variant_id, r.recommendation_id) for r in rows] == [
        ("impression", ds, ref.variant_id, None), ("click", ds, ref.variant_id, ref.number)]


def test_devices_merged_into_one_contact_share_its_variant(store):
    ds = store.datasource(algorithm="bestsellers", size=2, variants=[{"share": 50}])
    seen = set()
    for n in range(12):
        store.token(userPseudoId=f"phone-{n}", email=f"person{n}@example.com")
        store.token(userPseudoId=f"tablet-{n}", email=f"person{n}@example.com")
        phone = attribution.parse_id(mobile_recommend(store, ds, f"phone-{n}").headers[RECOMMENDATION_ID_HEADER])
        tablet = attribution.parse_id(mobile_recommend(store, ds, f"tablet-{n}").headers[RECOMMENDATION_ID_HEADER])
        assert phone.variant_id == tablet.variant_id
        seen.add(phone.variant_id)
    assert seen == {0, 1}  # 12 contacts at 50/50: both variants served (all in one: p = 1/2048)


def test_variants_are_reported_side_by_side(store):
    ds = store.datasource(algorithm="bestsellers", size=4, variants=[{"share": 50, "name": "Fresh",
                                                                       "algorithm": "new_arrivals"}])
    t0 = int(time.time() * 1000) - 2 * DAY
    a, b = attribution.format_id(ds, 0, 1), attribution.format_id(ds, 1, 2)
    events = []
    for v in range(10):
        events.append(envelope("ProductImpressions", {"recommendationId": a, "Products": [{"product_id": "P1"}]},
                               sc=f"a{v}", ts=t0))
        events.append(envelope("ProductImpressions", {"recommendationId": b, "Products": [{"product_id": "P1"}]},
                               sc=f"b{v}", ts=t0))
    events += [envelope("ProductPage", {"productKey": "P1", "recommendationId": b}, sc=f"b{v}", ts=t0 + 1)
               for v in range(4)]
    store.events(events)
    report = analytics(store, ds, t0)
    arms = {v["id"]: v for v in report["variants"]}
    assert (arms[0]["name"], arms[0]["impressions"], arms[0]["clicks"]) == ("A", 10, 0)
    assert (arms[1]["name"], arms[1]["impressions"], arms[1]["clicks"], arms[1]["share"]) == ("Fresh", 10, 4, 50)
    assert arms[1]["ctr"]["value"] == 0.4 and arms[1]["ctr"]["low"] < 0.4 < arms[1]["ctr"]["high"]
    assert arms[1]["vsControl"]["ctr"]["p"] == pytest.approx(0.0253, abs=1e-3)  # 4/10 vs 0/10, pooled z-test


def test_periods_are_checked(store):
    ds = store.datasource(algorithm="bestsellers")
    url = f"/api/v1/analytics/datasources/{ds}"
    for params in ({"from": "2026-02-31"}, {"from": "2026-03-02", "to": "2026-03-01"},
                   {"from": "2020-01-01", "to": "2026-01-01"}, {"from": "yesterday"}):
        r = store.client.get(url, params=params, headers=store.auth)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (params, r.text)
    assert store.client.get("/api/v1/analytics/datasources/999999", headers=store.auth).status_code == 404
    assert store.client.get(url).status_code == 401


def test_the_es_token_route_names_its_list_and_logs_it(store):
    ds = store.datasource(algorithm="bestsellers", size=3)
    for _ in range(2):  # scored, then the same answer reused: each list logged with its products
        r = store.recoms(ds)
        assert r.status_code == 200, r.text
        ref = attribution.parse_id(r.headers.get(RECOMMENDATION_ID_HEADER))
        assert ref is not None and ref.datasource_id == ds
        assert RECOMMENDATION_ID_HEADER.lower() in r.headers.get("access-control-expose-headers", "").lower()
        flush(store)
        with store.platform.engine.connect() as conn:
            row = conn.execute(sa.select(recommendation_log).where(recommendation_log.c.id == ref.number)).one()
        assert row.items == [p["id"] for p in r.json()] and len(row.items) == 3


def test_the_es_token_route_serves_the_contacts_variant(store):
    ds = store.datasource(algorithm="bestsellers", size=3, variants=[{"share": 100, "size": 1}])
    r = store.recoms(ds)
    assert r.status_code == 200 and len(r.json()) == 1  # everyone is in the challenger, of size 1
    assert attribution.parse_id(r.headers.get(RECOMMENDATION_ID_HEADER)).variant_id == 1


def test_the_server_to_server_route_names_its_list(store):
    ds = store.datasource(algorithm="bestsellers", size=3)
    r = store.client.get(f"/api/v2/contacts/recoms/{ds}", params={"externalCustomerId": "c-1"}, headers=store.auth)
    store.token(externalCustomerId="c-1")
    r = store.client.get(f"/api/v2/contacts/recoms/{ds}", params={"externalCustomerId": "c-1"}, headers=store.auth)
    assert r.status_code == 200
    assert attribution.parse_id(r.headers.get(RECOMMENDATION_ID_HEADER)).datasource_id == ds
