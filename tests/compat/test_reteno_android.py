"""The Reteno Android SDK (2.9.6) pointed at recoms: every call built as the SDK builds it (its headers,
Gson bodies sent chunked, org.json values inside params), every answer read as the SDK reads it.

Wire facts: /tmp/compat/reteno.md §0–§7; `convertRecoms`: tests/compat/reteno_parsers.py.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from recoms.services.accounts import create_key
from recoms.store.recom_events import counts
from recoms.store.tables import carts, contact_identifiers, contacts, events, interactions, orders, recom_events
from tests.compat.reteno_parsers import (
    ANDROID_FULL,
    ANDROID_MINIMAL,
    ANDROID_SHOP,
    convert_recoms,
    gson,
    java_double,
    org_json,
)
from tests.conftest import envelope
from tests.feeds import gmc_xml

VIEW, CART, PURCHASE, WISHLIST, CATEGORY = 1, 2, 3, 4, 5
DEVICE = "a1b2c3d4e5f60718"

# The shop's catalog: images as the GMC feed's image_link, a URL with a query string, numeric ids.
CATALOG = [
    {"id": f"SKU-{i}", "name": f"Product {i}", "price": 10.0 + i, "brand": "Volt" if i % 2 else "Acme",
     "category": "Gear > Balls" if i < 5 else "Home > Kitchen", "descr": f"<p>Item {i} & more</p>",
     "url": f"https://shop.test/p/{i}?utm=app&ref=recoms",
     "tags": {"image_link": f"https://shop.test/i/{i}.jpg", "oldprice": str(20 + i), "rating": "4"}}
    for i in range(1, 11)
] + [{"id": "1001", "name": "Numbered", "price": 5.0, "category": "Gear > Balls", "url": "https://shop.test/p/1001"}]


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def open_shop(shop) -> str:
    """The catalog, a history to train on (who views SKU-1 views SKU-2; who buys SKU-7 buys SKU-8; 1001, with no
    image, sells once), and the app's access key: an API key with the `mobile` scope only."""
    shop.feed(gmc_xml(CATALOG))
    history = []
    for u in range(6):
        history += [envelope("ProductPage", {"productKey": "SKU-1"}, sc=f"a{u}"),
                    envelope("ProductPage", {"productKey": "SKU-2"}, sc=f"a{u}"),
                    envelope("PurchasedItems", {"OrderNumber": f"H{u}", "Products": [
                        {"product_id": "SKU-7"}, {"product_id": "SKU-8"}]}, sc=f"b{u}")]
    history.append(envelope("PurchasedItems", {"OrderNumber": "H-1001", "Products": [{"product_id": "1001"}]}, sc="c"))
    shop.events(history)
    shop.train()
    return create_key(shop.platform.engine, shop.account_id, ["mobile"], "app")["api_key"]


def rows(shop, table, *where) -> list[Any]:
    with shop.platform.engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.account_id == shop.account_id, *where)).all()


def contact_of(shop, kind: str, value: str) -> int | None:
    found = rows(shop, contact_identifiers, contact_identifiers.c.kind == kind, contact_identifiers.c.value == value)
    return found[0].contact_id if found else None


# ---- the SDK's side ---------------------------------------------------------------------------------

def android_time(when: datetime) -> str:
    """Util.formatToRemoteExplicitMillis: yyyy-MM-dd'T'HH:mm:ss.SSS'Z' in UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def android_seconds(when: datetime) -> str:
    """Util.formatToRemote: yyyy-MM-dd'T'HH:mm:ss'Z' (recom events, the order date)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def param(name: str, value: str | None) -> dict[str, Any]:
    return {"name": name, "value": value}


class AndroidApp:
    """RestClientImpl and the repositories: what goes on the wire for each public call."""

    def __init__(self, client, access_key: str, device_id: str = DEVICE, external_user_id: str | None = None):
        self.client, self.key, self.device_id, self.external_user_id = client, access_key, device_id, external_user_id

    def headers(self, recommendation: bool) -> dict[str, str]:
        h = {"X-Reteno-Access-Key": self.key, "X-Reteno-SDK-Version": "$Android 2.9.6"}
        if recommendation:  # ApiContract.Recommendation only: not /events, /device, /user
            h["X-Reteno-Device-ID"] = self.device_id
        return {**h, "Accept": "*/*", "Content-Type": "application/json; charset=UTF-8", "Accept-Encoding": "gzip",
                "User-Agent": "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7 Build/UQ1A.240105.004)"}

    def post(self, path: str, payload: Any, recommendation: bool = False):
        body = gson(payload).encode()

        def chunked() -> Iterator[bytes]:  # setChunkedStreamingMode(0): no Content-Length
            yield body[: len(body) // 2]
            yield body[len(body) // 2:]

        return self.client.post(path, content=chunked(), headers=self.headers(recommendation))

    # RecommendationRepositoryImpl.getRecommendation: RecomRequestRemote(products, category, fields, filters)
    def fetch_recommendation(self, variant: str, products: list[str] | None = None, category: str | None = None,
                             fields: list[str] | None = None, filters: list[dict] | None = None):
        body = {"products": products, "category": category, "fields": fields, "filters": filters}
        return self.post(f"/api/v1/recoms/{variant}/request", body, recommendation=True)

    # RecommendationRepositoryImpl.pushRecommendations: one entry per variant, empty types as [].
    def log_recommendations(self, entries: dict[str, list[tuple[str, str, datetime]]]):
        body = {"events": [
            {"recomVariantId": variant,
             "impressions": [{"occurred": android_seconds(t), "productId": p} for k, p, t in items if k == "i"],
             "clicks": [{"occurred": android_seconds(t), "productId": p} for k, p, t in items if k == "c"]}
            for variant, items in entries.items()]}
        return self.post("/api/v1/recoms/events", body, recommendation=True)

    # EventsRepositoryImpl.pushEvents: EventsRemote(deviceId, externalUserId, events)
    def push_events(self, events_: list[dict[str, Any]]):
        body = {"deviceId": self.device_id, "externalUserId": self.external_user_id, "events": events_}
        return self.post("/api/v1/events", body)

    # ContactRepositoryImpl.pushDeviceData: DeviceRemote, declaration order, nulls left out.
    def push_device(self, email: str | None = None, phone: str | None = None):
        return self.post("/api/v1/device", {
            "deviceId": self.device_id, "externalUserId": self.external_user_id, "pushToken": "fcmTokenABC:APA91b",
            "pushSubscribed": True, "category": "MOBILE", "osType": "ANDROID", "osVersion": "14 (API 34)",
            "deviceModel": "GOOGLE Pixel 7", "appVersion": "1.0.3 (103)", "languageCode": "en-US",
            "timeZone": "Europe/Kyiv", "advertisingId": None, "phone": phone, "email": email})

    # setUserAttributes(externalUserId, user): /device first, then /user (a diff of the attributes).
    def set_user_attributes(self, external_user_id: str, attributes: dict[str, Any]):
        self.external_user_id = external_user_id
        device = self.push_device()
        user = self.post("/api/v1/user", {"deviceId": self.device_id, "externalUserId": external_user_id,
                                          "userAttributes": attributes, "subscriptionKeys": ["news"]})
        return device, user


# EcomEventMapper: structured values as org.json text inside the param's string.
def product_viewed(product_id: str, price: float, in_stock: bool = True, attributes: dict | None = None,
                   when: datetime | None = None, key: str = "productViewed") -> dict[str, Any]:
    product = {"productId": product_id, "price": price, "isInStock": 1 if in_stock else 0, **(attributes or {})}
    return {"eventTypeKey": key, "occurred": android_time(when or ago(5)),
            "params": [param("product", org_json(product)), param("currencyCode", "UAH")]}


def cart_updated(cart_id: str, lines: list[dict[str, Any]], when: datetime | None = None) -> dict[str, Any]:
    return {"eventTypeKey": "cartUpdated", "occurred": android_time(when or ago(4)),
            "params": [param("cartId", cart_id), param("products", org_json(lines)), param("currencyCode", "UAH")]}


def order_event(number: str, items: list[dict[str, Any]] | None, total: float, status: str = "INITIALIZED",
                key: str = "orderCreated", when: datetime | None = None, **extra: str) -> dict[str, Any]:
    when = when or ago(3)
    params = [param("externalOrderId", number)]
    if "externalCustomerId" in extra:
        params.append(param("externalCustomerId", extra.pop("externalCustomerId")))
    params += [param("totalCost", java_double(total)), param("status", status), param("date", android_seconds(when)),
               param("cartId", "cart-77"), param("currencyCode", "UAH")]
    params += [param(k, v) for k, v in extra.items()]
    params += [param("shipping", "5.0"), param("discount", "0.5"), param("taxes", "0.0")]
    if items is not None:  # Gson: doubles keep their ".0"
        params.append(param("items", gson(items)))
    params.append(param("giftWrap", org_json({"color": "red", "price": 2})))
    return {"eventTypeKey": key, "occurred": android_time(when), "params": params}


def custom(key: str, when: datetime | None = None, **params: str) -> dict[str, Any]:
    event: dict[str, Any] = {"eventTypeKey": key, "occurred": android_time(when or ago(6))}
    if params:
        event["params"] = [param(k, v) for k, v in params.items()]
    return event


def item(product_id: str, quantity: float, cost: float) -> dict[str, Any]:
    return {"externalItemId": product_id, "name": "Ball", "category": "Gear", "quantity": quantity, "cost": cost,
            "url": f"https://shop.test/p/{product_id}?a=1&b=2", "imageUrl": f"https://shop.test/i/{product_id}.jpg"}


@pytest.fixture
def app(shop) -> AndroidApp:
    return AndroidApp(shop.client, open_shop(shop))


# ---- recommendations ----------------------------------------------------------------------------

def test_fetch_recommendation_all_fields_converts_without_falling_back(shop, app):
    ds = shop.datasource(algorithm="bestsellers", size=5)
    r = app.fetch_recommendation(f"r{ds}v1482", category="")
    assert r.status_code == 200, r.text
    assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
    assert "content-encoding" not in r.headers  # the SDK reads the body as plain text
    assert r.headers["content-type"].startswith("application/json")
    outcome, recoms = convert_recoms(r.text, ANDROID_FULL)
    assert outcome == "success" and [x["productId"] for x in recoms][:2] == ["SKU-7", "SKU-8"]
    first = recoms[0]
    assert (first["name"], first["price"], first["category"]) == ("Product 7", 17.0, ["Home", "Kitchen"])
    assert first["imageUrl"] == "https://shop.test/i/7.jpg" and first["url"] == "https://shop.test/p/7?utm=app&ref=recoms"
    assert first["descr"] == "<p>Item 7 & more</p>" and first["tags_oldprice"] == "27"
    assert convert_recoms(r.text, ANDROID_SHOP)[1][0]["isInStock"] == 1


def test_fields_empty_means_product_id_only_and_a_list_means_those_plus_product_id(shop, app):
    ds = shop.datasource(algorithm="bestsellers", size=3)
    only_ids = app.fetch_recommendation(str(ds), products=["SKU-1"], fields=[])
    assert only_ids.status_code == 200
    assert all(set(x) == {"productId"} for x in only_ids.json()["recoms"]) and only_ids.json()["recoms"]
    some = app.fetch_recommendation(str(ds), fields=["name", "price", "imageUrl", "nope"])
    assert all({"productId", "name", "price"} <= set(x) <= {"productId", "name", "price", "imageUrl"}
               for x in some.json()["recoms"])
    assert "imageUrl" in some.json()["recoms"][0]  # SKU-7 has an image; 1001 has none, so none is sent
    outcome, recoms = convert_recoms(some.text, ANDROID_MINIMAL)
    assert outcome == "success" and recoms[0]["descr"] is None  # not asked for: null, as Gson leaves it


def test_products_category_and_filters_as_gson_writes_them(shop, app):
    ds = shop.datasource(algorithm="similar", size=4)
    r = app.fetch_recommendation(f"r{ds}v1", products=["SKU-2", "1001"], category="Gear",
                                 filters=[{"name": "brand", "values": ["Volt"]}])
    assert r.status_code == 200, r.text
    outcome, recoms = convert_recoms(r.text, ANDROID_SHOP)
    assert outcome == "success" and recoms
    assert all(x["brand"] == "Volt" for x in recoms)  # filters without a mode are strict (include)
    assert {"SKU-2", "1001"}.isdisjoint(x["productId"] for x in recoms)


def test_errors_are_problems_the_sdk_hands_to_on_failure(shop, app, make_shop):
    similar = shop.datasource(algorithm="similar")
    needs = app.fetch_recommendation(str(similar), category="")
    assert needs.status_code == 400 and needs.json()["title"] and "needs products" in needs.json()["detail"]
    assert needs.headers["content-type"] == "application/problem+json"
    assert app.fetch_recommendation("r999999v1").status_code == 404
    assert app.fetch_recommendation("homepage-block").status_code == 404
    basic = make_shop("basic")
    basic_app = AndroidApp(basic.client, create_key(basic.platform.engine, basic.account_id, ["mobile"])["api_key"])
    r = basic_app.fetch_recommendation("r1v1")
    assert r.status_code == 403 and "plan" in r.json()["detail"]


def test_keys_the_access_key_and_the_mobile_scope(shop, app):
    ds = shop.datasource(algorithm="bestsellers", size=3)
    anonymous = AndroidApp(shop.client, "")
    assert anonymous.fetch_recommendation(str(ds)).status_code == 401
    assert AndroidApp(shop.client, "rk_not-a-key").fetch_recommendation(str(ds)).status_code == 401
    catalog_key = create_key(shop.platform.engine, shop.account_id, ["catalog:write"])["api_key"]
    outsider = AndroidApp(shop.client, catalog_key)
    assert outsider.fetch_recommendation(str(ds)).status_code == 403
    assert outsider.push_device().status_code == 403
    assert outsider.log_recommendations({"r1v1": [("i", "SKU-1", ago(1))]}).status_code == 403
    # The app's key only reaches the app's calls: no admin route, by header or by Basic auth.
    admin_headers = [{"X-Reteno-Access-Key": app.key},
                     {"Authorization": "Basic " + base64.b64encode(f"app:{app.key}".encode()).decode()}]
    for headers in admin_headers:
        assert shop.client.get("/api/v1/datasources", headers=headers).status_code == 403
        assert shop.client.post("/api/v1/feeds", content=b"<rss/>", headers=headers).status_code == 403
        assert shop.client.get("/api/v1/contacts", params={"email": "x@y.z"}, headers=headers).status_code == 403
    # A server's recoms:read key may ask the same endpoint with Basic auth.
    reader = create_key(shop.platform.engine, shop.account_id, ["recoms:read"])["api_key"]
    r = shop.client.post(f"/api/v1/recoms/{ds}/request", json={}, headers={
        "Authorization": "Basic " + base64.b64encode(f"srv:{reader}".encode()).decode()})
    assert r.status_code == 200 and r.json()["recoms"]


def test_an_unknown_device_gets_no_personalisation(shop, app):
    ds = shop.datasource(algorithm="recently_viewed", size=5, fallback=[])
    r = AndroidApp(shop.client, app.key, device_id="never-seen-0001").fetch_recommendation(str(ds))
    assert r.status_code == 200 and r.json()["recoms"] == []  # beside it: the recommendationId (ignored by the SDK)
    assert contact_of(shop, "pseudo_id", "never-seen-0001") is None  # asking creates nobody


# ---- the app's flow end to end -------------------------------------------------------------------

def test_a_device_views_carts_and_orders_then_gets_its_own_recommendations(shop, app):
    recently = shop.datasource(algorithm="recently_viewed", size=5, fallback=[])
    personal = shop.datasource(algorithm="personal", size=3)
    r = app.push_events([
        product_viewed("SKU-3", 13.0, when=ago(30)),
        product_viewed("SKU-5", 15.0, attributes={"color": ["red", "blue"]}, when=ago(20)),
        product_viewed("SKU-1", 11.0, when=ago(10)),
        cart_updated("cart-77", [{"productId": "SKU-5", "quantity": 2, "price": 15.0, "name": "Ball",
                                  "category": "Gear", "discount": 0.5, "size": ["L"]}], when=ago(25)),
        order_event("ORD-1", [item("SKU-9", 2.0, 19.0)], 44.98, when=ago(8)),
    ])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 5 and r.json()["errors"] == []
    device = contact_of(shop, "pseudo_id", DEVICE)
    assert device is not None
    kinds = {(x.kind, x.product_id) for x in rows(shop, interactions, interactions.c.contact_id == device)}
    assert {(VIEW, "SKU-3"), (VIEW, "SKU-5"), (VIEW, "SKU-1"), (CART, "SKU-5"), (PURCHASE, "SKU-9")} <= kinds
    (order,) = rows(shop, orders, orders.c.order_number == "ORD-1")
    assert order.contact_id == device and order.status == "created" and order.total == 44.98

    seen = app.fetch_recommendation(f"r{recently}v1")
    assert seen.status_code == 200, seen.text
    outcome, recoms = convert_recoms(seen.text, ANDROID_FULL)
    assert outcome == "success" and [x["productId"] for x in recoms] == ["SKU-1", "SKU-5", "SKU-3"]
    outcome, mine = convert_recoms(app.fetch_recommendation(str(personal)).text, ANDROID_SHOP)
    assert outcome == "success" and mine[0]["productId"] == "SKU-2"  # who views SKU-1 views SKU-2
    assert "SKU-9" not in [x["productId"] for x in mine]  # bought: left out


def test_the_user_logs_in_and_the_device_joins_the_customer(shop, app):
    device, user = app.set_user_attributes("user-42", {
        "phone": "+380501234567", "email": "jane@example.com", "firstName": "Jane", "lastName": "Doe",
        "languageCode": "uk", "timeZone": "Europe/Kyiv", "marketId": "ua-main",
        "address": {"region": "Kyiv", "town": "Kyiv", "address": "Main st. 1", "postcode": "01001"},
        "fields": [{"key": "loyalty_level", "value": "gold"}]})
    assert (device.status_code, device.json()) == (200, {}) and (user.status_code, user.json()) == (200, {})
    contact = contact_of(shop, "pseudo_id", DEVICE)
    assert contact is not None and contact_of(shop, "external_id", "user-42") == contact
    assert contact_of(shop, "email", "jane@example.com") == contact_of(shop, "phone", "380501234567") == contact
    (row,) = rows(shop, contacts, contacts.c.id == contact)
    assert row.attributes["firstName"] == "Jane" and row.attributes["loyalty_level"] == "gold"
    assert row.attributes["address_town"] == "Kyiv" and row.attributes["timeZone"] == "Europe/Kyiv"
    # The shop's server now asks for this customer by email: the app's views are there.
    app.push_events([product_viewed("SKU-4", 14.0)])
    ds = shop.datasource(algorithm="recently_viewed", size=3, fallback=[])
    r = shop.client.get(f"/api/v2/contacts/recoms/{ds}", params={"email": "jane@example.com"}, headers=shop.auth)
    # Changed with identity trust: the app's key ships inside the app, so the email it sends is only the
    # device's claim, and a lookup by the shop's server never goes through a claim (anyone could have
    # sent it) -- the app's views are there once the shop's server itself links the device to the email.
    assert r.json() == []
    shop.token(email="jane@example.com", userPseudoId=DEVICE)
    r = shop.client.get(f"/api/v2/contacts/recoms/{ds}", params={"email": "jane@example.com"}, headers=shop.auth)
    assert [p["id"] for p in r.json()] == ["SKU-4"]


def test_device_registration_with_a_bad_email_still_links_the_device(shop, app):
    app.external_user_id = "user-7"
    r = app.push_device(email="not-an-email", phone="+380 50 765 43 21")
    assert r.status_code == 200 and r.json()["ignored"][0]["field"] == "email"
    contact = contact_of(shop, "pseudo_id", DEVICE)
    assert contact == contact_of(shop, "external_id", "user-7") == contact_of(shop, "phone", "380507654321")


# ---- events --------------------------------------------------------------------------------------

def test_the_documented_ecommerce_batch_is_accepted_with_its_effects(shop, app):
    app.external_user_id = "user-42"
    batch = [
        product_viewed("SKU-1", 19.99, attributes={"color": ["red", "blue"]}),
        {"eventTypeKey": "productCategoryViewed", "occurred": android_time(ago(5)),
         "params": [param("category", org_json({"productCategoryId": "shoes", "brand": ["nike"]}))]},
        product_viewed("SKU-1", 20.0, in_stock=False, key="productAddedToWishlist"),
        cart_updated("cart-77", [{"productId": "SKU-1", "quantity": 2, "price": 19.99},
                                 {"productId": "SKU-2", "quantity": 1, "price": 5.0}]),
        order_event("ORD-1001", [item("SKU-1", 2.0, 19.99)], 44.98, externalCustomerId="user-42",
                    email="jane@example.com", phone="+380501234567", firstName="Jane"),
        {"eventTypeKey": "orderDelivered", "occurred": android_time(ago(1)),
         "params": [param("externalOrderId", "ORD-1001")]},
        {"eventTypeKey": "searchRequest", "occurred": android_time(ago(2)),
         "params": [param("search", "red shoes"), param("isFound", "1")]},
    ]
    r = app.push_events(batch)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 7 and r.json()["errors"] == []
    contact = contact_of(shop, "pseudo_id", DEVICE)
    assert contact == contact_of(shop, "external_id", "user-42") == contact_of(shop, "email", "jane@example.com")
    kinds = {(x.kind, x.product_id, x.category) for x in rows(shop, interactions, interactions.c.contact_id == contact)}
    assert {(VIEW, "SKU-1", None), (WISHLIST, "SKU-1", None), (CATEGORY, None, "shoes"), (CART, "SKU-2", None),
            (PURCHASE, "SKU-1", None)} <= kinds
    (order,) = rows(shop, orders, orders.c.order_number == "ORD-1001")
    assert order.status == "delivered" and order.total == 44.98
    (cart,) = rows(shop, carts, carts.c.contact_id == contact)
    assert cart.lines == []  # the order emptied it
    stored = {x.type for x in rows(shop, events, events.c.contact_id == contact)}
    assert {"ProductPage", "CategoryPage", "AddToWishlist", "StatusCart", "PurchasedItems", "OrderDelivered",
            "SearchRequest"} <= stored


def test_a_cancelled_order_and_a_resent_one(shop, app):
    created = order_event("ORD-2", [item("SKU-3", 1.0, 13.0)], 13.0)
    assert app.push_events([created]).json()["accepted"] == 1
    again = app.push_events([created, order_event("ORD-2", [item("SKU-3", 1.0, 13.0)], 13.0, status="IN_PROGRESS",
                                                  key="orderUpdated", when=ago(1))])
    assert again.status_code == 200 and again.json()["accepted"] == 2
    bought = rows(shop, interactions, interactions.c.kind == PURCHASE, interactions.c.order_number == "ORD-2")
    assert len(bought) == 1  # counted once
    assert rows(shop, orders, orders.c.order_number == "ORD-2")[0].status == "in_progress"
    cancel = {"eventTypeKey": "orderCancelled", "occurred": android_time(ago(0)),
              "params": [param("externalOrderId", "ORD-2")]}
    assert app.push_events([cancel]).status_code == 200
    assert rows(shop, orders, orders.c.order_number == "ORD-2")[0].status == "cancelled"
    assert rows(shop, interactions, interactions.c.kind == PURCHASE, interactions.c.order_number == "ORD-2") == []


def test_one_bad_event_does_not_drop_the_good_ones(shop, app):
    bad = {"eventTypeKey": "productViewed", "occurred": android_time(ago(1)), "params": [param("product", "{oops")]}
    r = app.push_events([product_viewed("SKU-2", 12.0), bad, custom("screenView", screenClass="CartFragment")])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2 and [e["index"] for e in r.json()["errors"]] == [1]
    assert "product" in r.json()["errors"][0]["reason"]
    only_bad = app.push_events([bad])
    assert only_bad.status_code == 400  # the SDK drops a batch it gets a 4xx for: nothing here is usable


def test_a_batch_of_twenty_with_system_events_is_accepted(shop, app):
    app.external_user_id = "user-9"
    batch = []
    for i in range(5):
        batch += [custom("SessionStarted", sessionID=f"s{i}", startTime=android_time(ago(100 - i))),
                  custom("screenView", screenClass="MainActivity"),
                  product_viewed(f"SKU-{i + 1}", 11.0 + i, when=ago(50 - i)),
                  custom("purchase_button_tap", screen="cart")]
    assert len(batch) == 20
    r = app.push_events(batch)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 20 and r.json()["errors"] == []
    contact = contact_of(shop, "external_id", "user-9")
    stored = rows(shop, events, events.c.contact_id == contact)
    assert sum(1 for e in stored if e.type == "Custom") == 15
    assert len(rows(shop, interactions, interactions.c.contact_id == contact, interactions.c.kind == VIEW)) == 5


# ---- impressions and clicks ------------------------------------------------------------------------

def test_impressions_and_clicks_are_stored_per_data_source(shop, app):
    ds = shop.datasource(algorithm="bestsellers", size=5)
    assert app.push_device().status_code == 200  # the device is known
    r = app.log_recommendations({
        f"r{ds}v1482": [("i", "SKU-7", ago(20)), ("i", "SKU-8", ago(20)), ("c", "SKU-8", ago(15))],
        "r999999v1": [("i", "SKU-1", ago(10))],
        str(ds): [],
    })
    assert (r.status_code, r.json()) == (200, {"accepted": 4, "errors": []})
    stored = rows(shop, recom_events)
    assert {(x.variant, x.datasource_id, x.product_id, x.kind, x.source) for x in stored} == {
        (f"r{ds}v1482", ds, "SKU-7", "impression", "mobile"), (f"r{ds}v1482", ds, "SKU-8", "impression", "mobile"),
        (f"r{ds}v1482", ds, "SKU-8", "click", "mobile"), ("r999999v1", None, "SKU-1", "impression", "mobile")}
    assert {x.contact_id for x in stored} == {contact_of(shop, "pseudo_id", DEVICE)}
    assert all(abs(x.ts - (x.received_at - 15_000)) < 10_000 for x in stored if x.kind == "click")
    with shop.platform.engine.connect() as conn:
        assert counts(conn, shop.account_id, ds) == {"impression": 2, "click": 1}


def test_a_bad_recom_event_is_reported_and_the_rest_kept(shop, app):
    body = {"events": [
        {"recomVariantId": "r1v1", "impressions": [{"occurred": "yesterday", "productId": "SKU-1"},
                                                  {"occurred": android_seconds(ago(3)), "productId": "SKU-2"}],
         "clicks": []},
        {"impressions": [{"occurred": android_seconds(ago(3)), "productId": "SKU-3"}]},
    ]}
    r = app.post("/api/v1/recoms/events", body, recommendation=True)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert [e["index"] for e in r.json()["errors"]] == [0, 1]
    nothing = app.post("/api/v1/recoms/events", {"events": [body["events"][1]]}, recommendation=True)
    assert nothing.status_code == 400 and nothing.json()["errors"][0]["index"] == 0
