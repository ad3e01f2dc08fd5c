"""Every event type of SPEC §3 is accepted and has its effect; bad events are reported, not fatal."""

from __future__ import annotations

import sqlalchemy as sa

from recoms.store.tables import carts, contact_identifiers, contacts, events, interactions, orders
from tests.conftest import envelope
from tests.feeds import gmc_xml

KIND = {"view": 1, "cart": 2, "purchase": 3, "wishlist": 4, "category": 5, "impression": 6}


def rows(platform, table, account_id, *where):
    with platform.engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.account_id == account_id, *where)).all()


def contact_of(platform, account_id, kind, value):
    found = rows(platform, contact_identifiers, account_id, contact_identifiers.c.kind == kind,
                 contact_identifiers.c.value == value)
    return found[0].contact_id if found else None


def test_product_page_records_a_view_and_patches_price_and_stock(shop, platform):
    shop.feed(gmc_xml([{"id": "P1", "price": 10.0}]))
    result = shop.events([envelope("ProductPage", {"productKey": "P1", "price": "12.50", "isInStock": 0})])
    assert result == {"accepted": 1, "errors": [], "duplicates": []}
    views = rows(platform, interactions, shop.account_id, interactions.c.kind == KIND["view"])
    assert [(v.product_id, v.price) for v in views] == [("P1", 12.5)]
    product = shop.client.get("/api/v1/products/P1", headers=shop.auth).json()
    assert product["price"] == 12.5 and product["isInStock"] == 0


def test_events_for_unknown_products_are_kept(shop, platform):
    shop.events([envelope("ProductPage", {"productKey": "NOT-YET"})])
    views = rows(platform, interactions, shop.account_id)
    assert [v.product_id for v in views] == ["NOT-YET"]


def test_status_cart_keeps_the_whole_cart_and_records_additions(shop, platform):
    cart = [{"productKey": "A", "price": 5, "quantity": 2}, {"productKey": "B", "price": 7, "quantity": 1}]
    shop.events([envelope("StatusCart", {"GUID": "g", "Products": cart[:1]}, ts=1_700_000_000_000)])
    shop.events([envelope("StatusCart", {"GUID": "g", "Products": cart}, ts=1_700_000_001_000)])
    added = rows(platform, interactions, shop.account_id, interactions.c.kind == KIND["cart"])
    assert sorted(r.product_id for r in added) == ["A", "B"]
    (stored,) = rows(platform, carts, shop.account_id)
    assert [i["product_id"] for i in stored.lines] == ["A", "B"]
    shop.events([envelope("StatusCart", {"GUID": "g", "Products": []})])
    (emptied,) = rows(platform, carts, shop.account_id)
    assert emptied.lines == []


def test_purchased_items_are_counted_once_per_order_number(shop, platform):
    order = {"OrderNumber": "O-1", "GUID": "g",
             "Products": [{"product_id": "A", "unit_price": 5, "quantity": 2}, {"product_id": "B", "unit_price": 3}]}
    first = shop.events([envelope("PurchasedItems", order)])
    again = shop.events([envelope("PurchasedItems", order)])
    assert first["accepted"] == 1 and first["duplicates"] == []
    assert again["accepted"] == 1 and again["duplicates"][0]["index"] == 0
    bought = rows(platform, interactions, shop.account_id, interactions.c.kind == KIND["purchase"])
    assert sorted((r.product_id, r.quantity) for r in bought) == [("A", 2.0), ("B", 1.0)]
    (stored,) = rows(platform, orders, shop.account_id)
    assert stored.total == 13.0 and stored.status == "created"


def test_category_page_search_wishlist_and_page_events(shop, platform):
    result = shop.events([
        envelope("CategoryPage", {"categoryKey": "Shoes"}),
        envelope("SearchRequest", {"search": "red shoes", "isFound": 1}),
        envelope("AddToWishlist", {"productKey": "W1", "price": 9, "isInStock": 1}),
        envelope("MainPage", {}),
        envelope("NotFound", {}),
        envelope("StatusCartPage", {}),
        envelope("ProductImpressions", {"Products": [{"product_id": "I1", "container_type": "recs"},
                                                     {"product_id": "I2", "container_type": "recs"}]}),
    ])
    assert result["accepted"] == 7 and result["errors"] == []
    kinds = {(r.kind, r.product_id, r.category) for r in rows(platform, interactions, shop.account_id)}
    assert (KIND["category"], None, "Shoes") in kinds
    assert (KIND["wishlist"], "W1", None) in kinds
    assert {(KIND["impression"], "I1", None), (KIND["impression"], "I2", None)} <= kinds
    stored = [r.type for r in rows(platform, events, shop.account_id)]
    assert sorted(stored) == sorted(["CategoryPage", "SearchRequest", "AddToWishlist", "MainPage", "NotFound",
                                     "StatusCartPage", "ProductImpressions"])
    search = next(r for r in rows(platform, events, shop.account_id) if r.type == "SearchRequest")
    assert search.payload["SearchRequest"]["search"] == "red shoes"


def test_customer_data_joins_the_anonymous_history_to_the_contact(shop, platform):
    shop.token(externalCustomerId="C-7")  # the shop already knows this customer
    known = contact_of(platform, shop.account_id, "external_id", "C-7")
    shop.events([envelope("ProductPage", {"productKey": "P9"}, sc="anon-cookie")])
    anonymous = contact_of(platform, shop.account_id, "cookie", "anon-cookie")
    assert anonymous != known
    shop.events([envelope("CustomerData", {"externalCustomerId": "C-7", "user_email": "Ann@Shop.test",
                                           "user_name": "Ann", "size": "M"}, sc="anon-cookie")])
    assert contact_of(platform, shop.account_id, "cookie", "anon-cookie") == known
    assert contact_of(platform, shop.account_id, "email", "ann@shop.test") == known
    history = rows(platform, interactions, shop.account_id, interactions.c.product_id == "P9")
    assert [r.contact_id for r in history] == [known]
    (contact,) = rows(platform, contacts, shop.account_id, contacts.c.id == known)
    assert contact.attributes == {"user_name": "Ann", "size": "M"}


def test_a_new_visitors_customer_data_keeps_its_attributes(shop, platform):
    # Nobody holds these identifiers: the contact is made in the same transaction as the attributes.
    shop.events([envelope("ProductPage", {"productKey": "P9"}, sc="fresh-cookie"),
                 envelope("CustomerData", {"user_email": "New@Shop.test", "user_name": "Nina"}, sc="fresh-cookie"),
                 envelope("CustomerData", {"size": "S"}, sc="fresh-cookie")])
    new = contact_of(platform, shop.account_id, "email", "new@shop.test")
    assert contact_of(platform, shop.account_id, "cookie", "fresh-cookie") == new
    (contact,) = rows(platform, contacts, shop.account_id, contacts.c.id == new)
    assert contact.attributes == {"user_name": "Nina", "size": "S"}
    shop.events([envelope("CustomerData", {"user_email": "new@shop.test", "size": "M"}, sc="fresh-cookie")])
    (contact,) = rows(platform, contacts, shop.account_id, contacts.c.id == new)
    assert contact.attributes == {"user_name": "Nina", "size": "M"}


def test_product_update_patches_and_creates_products(shop):
    shop.feed(gmc_xml([{"id": "P1", "price": 10.0, "name": "Old"}]))
    shop.events([envelope("ProductUpdate", [
        {"product_id": "P1", "name": "New name", "unit_price": 8, "isInStock": 0, "tag_color": "red"},
        {"product_id": "P2", "name": "Brand new", "unit_price": 20, "category": "A > B", "url": "https://x/p2",
         "imgurl": "https://x/p2.jpg"},
    ])])
    p1 = shop.client.get("/api/v1/products/P1", headers=shop.auth).json()
    assert (p1["name"], p1["price"], p1["isInStock"], p1["tags_color"]) == ("New name", 8.0, 0, "red")
    p2 = shop.client.get("/api/v1/products/P2", headers=shop.auth).json()
    assert p2["category"] == ["A", "B"] and p2["tags_image_link"] == "https://x/p2.jpg" and p2["isInStock"] == 1


def test_a_malformed_event_is_reported_and_the_others_stored(shop, platform):
    batch = [
        envelope("ProductPage", {"productKey": "P1"}),
        envelope("ProductPage", {"price": 3}),  # no productKey
        {"GeneralInfo": {"eventName": "Nope", "cookies": {"sc": "x"}}},
        "not an object",
        envelope("PurchasedItems", {"OrderNumber": "O-9", "Products": [{"product_id": "P1", "quantity": "x"}]}),
        envelope("ProductPage", {"productKey": "P2"}),
        {"GeneralInfo": {"eventName": "ProductPage"}, "ProductPage": {"productKey": "P3"}},  # nobody
    ]
    result = shop.events(batch)
    assert result["accepted"] == 2
    assert [e["index"] for e in result["errors"]] == [1, 2, 3, 4, 6]
    reasons = {e["index"]: e["reason"] for e in result["errors"]}
    assert "productKey is required" in reasons[1]
    assert "eventName 'Nope'" in reasons[2]
    assert "quantity must be a number" in reasons[4]
    assert "no visitor identifier" in reasons[6]
    assert sorted(r.product_id for r in rows(platform, interactions, shop.account_id)) == ["P1", "P2"]


def test_all_bad_events_is_a_400_problem_listing_each(shop):
    r = shop.client.post("/api/v1/events", json=[{"GeneralInfo": {}}, 5], headers=shop.auth)
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "Bad request" and [e["index"] for e in body["errors"]] == [0, 1]


def test_web_tracking_takes_the_site_key_and_no_api_key(shop, platform):
    one = envelope("ProductPage", {"productKey": "W"}, siteId=shop.site_id)
    r = shop.client.post("/api/v2/tracking", json=one)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    batch = [one, envelope("ProductPage", {"productKey": "W"}, siteId="site_unknown")]
    r = shop.client.post("/api/v2/tracking", json=batch)
    assert r.json()["accepted"] == 1 and r.json()["errors"][0]["index"] == 1
    assert "unknown or missing siteId" in r.json()["errors"][0]["reason"]


def test_a_browser_batch_naming_several_sites_stores_each_event_under_its_own(make_shop, platform):
    first, second = make_shop(), make_shop()

    def event(product: str, **info):
        return envelope("ProductPage", {"productKey": product}, **info)

    batch = [event("A1", siteId=first.site_id), event("B1", siteId=second.site_id),
             event("X1", siteId="site_unknown"), event("X2", siteId=[first.site_id]), event("X3", siteId=7),
             {"log_level": "info", "message": "a plugin's log"}, event("A2"),  # no siteId: the query's
             event("B2", siteId=second.site_id), event("A3", siteId=first.site_id)]
    r = first.client.post("/api/v2/tracking", json=batch, params={"siteId": first.site_id})
    assert r.status_code == 200
    assert r.json()["accepted"] == 5
    assert [e["index"] for e in r.json()["errors"]] == [2, 3, 4]
    assert all("unknown or missing siteId" in e["reason"] for e in r.json()["errors"])
    assert [e["index"] for e in r.json()["ignored"]] == [5]
    for shop, products in ((first, ["A1", "A2", "A3"]), (second, ["B1", "B2"])):
        views = rows(platform, interactions, shop.account_id, interactions.c.kind == KIND["view"])
        assert sorted(v.product_id for v in views) == products


def test_mobile_events_map_onto_web_events(shop, platform):
    shop.events([envelope("PurchasedItems", {"OrderNumber": "M-1", "Products": [{"product_id": "A"}]},
                          sc="c")])
    mobile = [
        {"eventName": "productViewed", "userPseudoId": "fb-1", "params": {"productKey": "A", "price": 3}},
        {"eventName": "productCategoryViewed", "userPseudoId": "fb-1", "params": [{"name": "categoryKey",
                                                                                   "value": "Toys"}]},
        {"eventName": "productAddedToWishlist", "userPseudoId": "fb-1", "params": {"productKey": "B"}},
        {"eventName": "cartUpdated", "userPseudoId": "fb-1", "params": {"Products": [{"productKey": "C"}]}},
        {"eventName": "orderCreated", "userPseudoId": "fb-1",
         "params": {"orderNumber": "M-2", "Products": [{"product_id": "C", "price": 4}]}},
        {"eventName": "orderUpdated", "userPseudoId": "fb-1", "params": {"orderNumber": "M-2"}},
        {"eventName": "orderDelivered", "userPseudoId": "fb-1", "params": {"orderNumber": "M-2"}},
        {"eventName": "orderCancelled", "userPseudoId": "fb-1", "params": {"orderNumber": "M-1"}},
        {"eventName": "searchRequest", "userPseudoId": "fb-1", "params": {"search": "lego"}},
    ]
    r = shop.client.post("/api/v1/mobile/events", json=mobile, params={"siteId": shop.site_id})
    assert r.status_code == 200 and r.json() == {"accepted": 9, "errors": [], "duplicates": []}
    fb = contact_of(platform, shop.account_id, "pseudo_id", "fb-1")
    kinds = sorted((r.kind, r.product_id or r.category) for r in rows(
        platform, interactions, shop.account_id, interactions.c.contact_id == fb))
    assert kinds == [(1, "A"), (2, "C"), (3, "C"), (4, "B"), (5, "Toys")]
    status = {o.order_number: o.status for o in rows(platform, orders, shop.account_id)}
    assert status == {"M-1": "cancelled", "M-2": "delivered"}
    # A cancelled order no longer counts as a purchase.
    assert not rows(platform, interactions, shop.account_id, interactions.c.order_number == "M-1")


def test_mobile_events_need_a_key(shop):
    r = shop.client.post("/api/v1/mobile/events", json=[{"eventName": "productViewed"}])
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_batch_length_is_limited(shop, platform):
    limit = platform.settings.max_batch_events
    r = shop.client.post("/api/v1/events", json=[{}] * (limit + 1), headers=shop.auth)
    assert r.status_code == 400 and f"at most {limit} events" in r.json()["detail"]


def test_tracker_script_is_served(client):
    r = client.get("/tracker.js")
    assert r.status_code == 200 and "sc=" in r.text and "/api/v2/tracking" in r.text
