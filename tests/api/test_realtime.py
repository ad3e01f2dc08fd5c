"""A contact's new events change its recommendations at its very next request, without retraining."""

from __future__ import annotations

import time

from tests.conftest import envelope
from tests.feeds import gmc_xml

PRODUCTS = [{"id": f"P{i}", "price": 10 + i, "category": "Home > Kitchen" if i < 5 else "Garden > Tools"}
            for i in range(10)]


def trained_shop(shop):
    shop.feed(gmc_xml(PRODUCTS))
    history = []
    for u in range(6):  # who views P1 views P2; who buys P7 buys P8
        history += [envelope("ProductPage", {"productKey": "P1"}, sc=f"a{u}"),
                    envelope("ProductPage", {"productKey": "P2"}, sc=f"a{u}"),
                    envelope("PurchasedItems", {"OrderNumber": f"O{u}", "Products": [
                        {"product_id": "P7"}, {"product_id": "P8"}]}, sc=f"b{u}")]
    shop.events(history)
    shop.train()


def test_recently_viewed_reflects_views_at_the_next_request(shop):
    trained_shop(shop)
    ds = shop.datasource(algorithm="recently_viewed", size=5, fallback=[])
    token = shop.token(externalCustomerId="fresh-1")
    r = shop.recoms(ds, token=token)
    assert r.status_code == 200 and r.json() == []
    for pid in ("P3", "P5", "P4"):
        shop.events([envelope("ProductPage", {"productKey": pid}, sc="fresh-cookie",
                              externalCustomerId="fresh-1")])
    r = shop.recoms(ds, token=r.headers["ES-TOKEN"])
    assert [p["id"] for p in r.json()] == ["P4", "P5", "P3"]


def test_personal_follows_new_views_and_leaves_out_new_purchases(shop):
    trained_shop(shop)
    ds = shop.datasource(algorithm="personal", size=3)
    token = shop.token(email="new@shop.test")
    cold = shop.recoms(ds, token=token)
    assert cold.status_code == 200 and [p["id"] for p in cold.json()][:2] == ["P7", "P8"]  # bestsellers
    shop.events([envelope("ProductPage", {"productKey": "P1"}, sc="new-cookie", user_email="new@shop.test")])
    warm = shop.recoms(ds, token=cold.headers["ES-TOKEN"])
    assert warm.json()[0]["id"] == "P2"
    shop.events([envelope("PurchasedItems", {"OrderNumber": "N1", "Products": [{"product_id": "P7"}]},
                          sc="new-cookie", user_email="new@shop.test")])
    after = shop.recoms(ds, token=warm.headers["ES-TOKEN"])
    assert "P7" not in [p["id"] for p in after.json()]


def test_filters_in_the_query_string(shop):
    trained_shop(shop)
    ds = shop.datasource(algorithm="bestsellers", size=10)
    ids = shop.recommend_ids(ds, **{"filter.include.category": "Garden"})
    assert ids and all(int(i[1:]) >= 5 for i in ids)
    ids = shop.recommend_ids(ds, **{"filter.exclude.category": "Garden"})
    assert ids and all(int(i[1:]) < 5 for i in ids)
    r = shop.recoms(ds, **{"filter.sometimes.brand": "x"})
    assert r.status_code == 400 and "mode" in r.json()["detail"]


def test_a_new_shop_serves_recently_viewed_and_new_arrivals_before_its_first_training(shop):
    shop.feed(gmc_xml(PRODUCTS))  # no training yet
    viewed = shop.datasource(algorithm="recently_viewed", size=5, fallback=[])
    newest = shop.datasource(algorithm="new_arrivals", size=3, fallback=[])
    now = int(time.time() * 1000)
    shop.events([envelope("ProductPage", {"productKey": pid}, sc="first-visitor", ts=now - 1000 * i)
                 for i, pid in enumerate(("P6", "P2"))])
    token = shop.token(cookie="first-visitor")
    r = shop.recoms(viewed, token=token)
    assert r.status_code == 200 and [p["id"] for p in r.json()] == ["P6", "P2"]
    assert len(shop.recommend_ids(newest)) == 3
    personal = shop.datasource(algorithm="personal", size=3, fallback=[])
    assert shop.recommend_ids(personal) == []  # a model to learn: nothing until the first training
