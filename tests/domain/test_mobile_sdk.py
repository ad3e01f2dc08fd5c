"""The Reteno SDK's wire forms parse to our shapes; bad ones say why (tests/compat has the SDKs end to end)."""

from __future__ import annotations

import math

import pytest

from recoms.domain.events import EventError
from recoms.domain.mobile_sdk import (
    SdkRequestError,
    occurred_ms,
    parse_device,
    parse_event,
    parse_recom_events,
    parse_recom_request,
    parse_user,
    recom_item,
    variant_datasource,
)
from recoms.domain.product import Product
from recoms.errors import RecomsError

NOW = 1_790_000_000_000  # 2026-09-21T14:13:20Z
AT = "2026-09-21T14:13:00.000Z"
AT_MS = NOW - 20_000


def parse(event: object):
    return parse_event(event, NOW)


def sdk(key: str, occurred: str = AT, device: str | None = "a1b2c3d4e5f60718", user: str | None = None,
        **params: str | None) -> dict:
    event: dict = {"eventTypeKey": key, "occurred": occurred, "deviceId": device, "externalUserId": user}
    if params:
        event["params"] = [{"name": k, "value": v} for k, v in params.items()]
    return event


# ---- times -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["2026-09-21T14:13:00.000Z", "2026-09-21T14:13:00Z", "2026-09-21T14:13",
                                  "2026-09-21T16:13:00.000+02:00", "2026-09-21T14:13:00.0004567Z"])
def test_every_time_form_the_sdks_write(text):
    assert occurred_ms(text, NOW) == AT_MS


def test_times_missing_numeric_future_and_garbage():
    assert occurred_ms(None, NOW) == NOW and occurred_ms(AT_MS, NOW) == AT_MS
    with pytest.raises(EventError, match="future"):
        occurred_ms("2030-01-01T00:00:00Z", NOW)
    with pytest.raises(EventError, match="ISO 8601"):
        occurred_ms("yesterday", NOW)
    with pytest.raises(EventError, match="ISO 8601"):
        occurred_ms(["2026"], NOW)


# ---- events ----------------------------------------------------------------------------------------

def test_product_viewed_as_android_and_ios_write_it():
    android = parse(sdk("productViewed", product='{"productId":"SKU-1","price":100,"isInStock":1,'
                                                      '"color":["red","blue"],"url":"https:\\/\\/s.test\\/1"}',
                              currencyCode="UAH"))
    assert (android.type, android.ts, android.ids) == ("ProductPage", AT_MS, {"pseudo_id": "a1b2c3d4e5f60718"})
    assert android.payload == {"product_id": "SKU-1", "price": 100.0, "in_stock": True,
                               "tags": {"color": "red,blue", "url": "https://s.test/1"}}
    ios = parse(sdk("productAddedToWishlist", "2026-09-21T14:13:00.000Z", "E621E1F8", "user-42",
                          product='{"isInStock":0,"price":19.989999771118164,"productId":"SKU-2"}'))
    assert ios.type == "AddToWishlist" and ios.ids == {"pseudo_id": "E621E1F8", "external_id": "user-42"}
    assert math.isclose(ios.payload["price"], 19.99, rel_tol=1e-6) and ios.payload["in_stock"] is False


def test_category_cart_search_and_order_status_events():
    category = parse(sdk("productCategoryViewed", category='{"productCategoryId":"shoes","brand":["nike"]}'))
    assert (category.type, category.payload) == ("CategoryPage", {"category": "shoes"})
    cart = parse(sdk("cartUpdated", cartId="cart-77", products='[{"productId":"SKU-1","quantity":2,'
                           '"price":19.99,"name":"Ball","discount":0.5,"size":["L"]},{"productId":"SKU-2","price":5}]'))
    assert cart.type == "StatusCart" and cart.payload == {"guid": "cart-77", "items": [
        {"product_id": "SKU-1", "price": 19.99, "quantity": 2.0},
        {"product_id": "SKU-2", "price": 5.0, "quantity": 1.0}]}
    assert parse(sdk("cartUpdated", cartId="c", products="[]")).payload["items"] == []
    search = parse(sdk("searchRequest", search="red shoes"))  # iOS: isFound only when given
    assert (search.type, search.payload) == ("SearchRequest", {"search": "red shoes", "is_found": None})
    assert parse(sdk("searchRequest", search="x", isFound="1")).payload["is_found"] is True
    for key, kind in (("orderDelivered", "OrderDelivered"), ("orderCancelled", "OrderCancelled")):
        ev = parse(sdk(key, externalOrderId="ORD-1"))
        assert (ev.type, ev.payload) == (kind, {"order_number": "ORD-1"})


ITEMS = ('[{"externalItemId":"SKU-1","name":"Ball","category":"Gear","quantity":2.0,"cost":19.99,'
         '"url":"https://s.test/p?a\\u003d1"}]')


def test_an_android_order_with_its_buyer():
    ev = parse(sdk("orderCreated", user="user-42", externalOrderId="ORD-1001", externalCustomerId="user-42",
                         totalCost="1.0E7", status="INITIALIZED", date="2026-09-21T14:13:00Z", cartId="cart-77",
                         email="Jane@Example.com", phone="+380 50 123 45 67", items=ITEMS,
                         giftWrap='{"color":"red"}'))
    assert ev.type == "PurchasedItems"
    assert ev.payload == {"order_number": "ORD-1001", "guid": "cart-77", "status": "created", "total": 1.0e7,
                          "items": [{"product_id": "SKU-1", "price": 19.99, "quantity": 2.0}]}
    assert ev.ids == {"pseudo_id": "a1b2c3d4e5f60718", "external_id": "user-42", "email": "jane@example.com",
                      "phone": "380501234567"}


def test_the_event_user_comes_before_the_order_buyer_and_a_bad_email_is_left_out():
    ev = parse(sdk("orderCreated", user="app-user", externalOrderId="O", externalCustomerId="other",
                         email="not-an-email", totalCost="5.0", status="IN_PROGRESS"))
    assert ev.ids == {"pseudo_id": "a1b2c3d4e5f60718", "external_id": "app-user"}
    assert ev.payload["status"] == "in_progress" and ev.payload["items"] == []


@pytest.mark.parametrize(("params", "kind", "status"), [
    ({"status": "DELIVERED", "items": ITEMS}, "PurchasedItems", "delivered"),  # creates an order not yet known
    ({"status": "IN_PROGRESS"}, "OrderUpdated", None),
    ({"status": "DELIVERED"}, "OrderDelivered", None),
    ({"status": "CANCELLED", "items": "[]"}, "OrderCancelled", None),
])
def test_order_updates(params, kind, status):
    ev = parse(sdk("orderUpdated", externalOrderId="ORD-9", totalCost="10.0", **params))
    assert ev.type == kind and ev.payload["order_number"] == "ORD-9"
    assert ev.payload.get("status") == status


def test_system_and_app_events_are_custom():
    ev = parse(sdk("screenView", screenClass="CartFragment"))
    assert (ev.type, ev.payload) == ("Custom", {"name": "screenView", "params": {"screenClass": "CartFragment"}})
    assert parse(sdk("PushNotificationsSubscribed")).payload == {"name": "PushNotificationsSubscribed",
                                                                       "params": {}}
    anonymous = parse(sdk("SessionStarted", device="", sessionID="s1"))  # iOS: no device id stored yet
    assert anonymous.type == "Custom" and anonymous.ids == {}
    assert parse(sdk("screenView", device="d", screenClass=None)).raw["deviceId"] == "d"


@pytest.mark.parametrize(("event", "reason"), [
    ("not an object", "must be an object"),
    ({"occurred": AT, "deviceId": "d"}, "eventTypeKey is required"),
    (sdk("x" * 101), "longer than 100"),
    ({**sdk("screenView"), "params": "screenClass=Main"}, "params must be an array"),
    ({**sdk("screenView"), "params": [{"value": "x"}]}, r"params\[0\]"),
    (sdk("productViewed", product="{oops"), "product is not valid JSON"),
    (sdk("productViewed", product='{"price":1}'), "productId is required"),
    (sdk("productViewed", product='{"productId":"P","price":"free"}'), "price must be a number"),
    (sdk("productViewed"), "product is required"),
    (sdk("productViewed", device="", product='{"productId":"P"}'), "no identifier"),
    (sdk("cartUpdated", products='[{"quantity":1}]'), r"products\[0\]: productId is required"),
    (sdk("orderCreated", totalCost="1.0"), "externalOrderId is required"),
    (sdk("orderCreated", externalOrderId="O", status="LOST"), "status 'LOST'"),
    (sdk("orderCreated", externalOrderId="O", items='{"a":1}'), "items must be an array"),
    (sdk("searchRequest", search=""), "search is required"),
    ({**sdk("screenView"), "deviceId": ["d"]}, "pseudo_id must be a string"),
    (sdk("screenView", "2099-01-01T00:00:00Z"), "future"),
])
def test_bad_events_say_why(event, reason):
    with pytest.raises(EventError, match=reason):
        parse(event)


# ---- the recommendation request and its answer -----------------------------------------------------

@pytest.mark.parametrize(("variant", "ds_id"), [("12", 12), ("r12v3", 12), ("R1107V1482", 1107), ("r7", 7),
                                                ("0", None), ("r0v1", None), ("home-block", None),
                                                ("9" * 19, None), ("12v3", None), ("", None)])
def test_variant_ids(variant, ds_id):
    assert variant_datasource(variant) == ds_id


def test_request_bodies():
    android = parse_recom_request({"products": ["SKU-1", 1001], "category": "", "fields": [],
                                   "filters": [{"name": "brand", "values": ["nike"]}]})
    assert android.fields == () and android.query == {"products": ["SKU-1", 1001], "category": "",
                                                      "filters": [{"name": "brand", "values": ["nike"]}]}
    assert parse_recom_request({"products": [], "fields": ["name", "price", "name"]}).fields == ("name", "price")
    assert parse_recom_request({"products": None, "fields": None}) == parse_recom_request({})
    assert parse_recom_request({}).fields is None
    for bad in ("x", [], None, {"fields": "name"}, {"fields": [1]}):
        with pytest.raises(SdkRequestError) as err:
            parse_recom_request(bad)
        assert isinstance(err.value, RecomsError) and err.value.status == 400


PRODUCT = Product(id="SKU-1", name="Ball", url="https://s.test/1", price=23.0, descr="<p>x</p>", brand="Acme",
                  category=["Gear", "Balls"], in_stock=True, tags={"image_link": "https://s.test/1.jpg",
                                                                   "oldprice": "30", "empty": ""})


def test_an_item_in_the_shape_the_sample_models_read():
    assert recom_item(PRODUCT) == {
        "productId": "SKU-1", "name": "Ball", "descr": "<p>x</p>", "url": "https://s.test/1",
        "imageUrl": "https://s.test/1.jpg", "price": 23.0, "brand": "Acme", "category": ["Gear", "Balls"],
        "isInStock": 1, "tags_image_link": "https://s.test/1.jpg", "tags_oldprice": "30"}
    assert recom_item(PRODUCT, ()) == {"productId": "SKU-1"}
    assert recom_item(PRODUCT, ("price", "imageUrl", "tags_oldprice", "nope")) == {
        "productId": "SKU-1", "price": 23.0, "imageUrl": "https://s.test/1.jpg", "tags_oldprice": "30"}


def test_an_item_never_has_an_empty_url_or_a_null():
    bare = recom_item(Product(id="7", price=float("nan"), tags={"picture": "https://s.test/7.jpg"}))
    assert "url" not in bare and "price" not in bare and bare["imageUrl"] == "https://s.test/7.jpg"
    assert None not in bare.values() and recom_item(Product(id="8")).get("imageUrl") is None


# ---- impressions and clicks ------------------------------------------------------------------------

def test_recom_events_of_both_sdks():
    good, errors = parse_recom_events({"events": [
        {"recomVariantId": "r12v3", "impressions": [{"occurred": "2026-09-21T14:13:00Z", "productId": "A"}],
         "clicks": []},
        {"recomVariantId": "r12v3", "clicks": [{"occurred": "2026-09-21T14:13", "productId": 42}]},
        {"recomVariantId": "block-7", "impressions": None},
    ]}, max_entries=10, now_ms=NOW)
    assert errors == []
    assert [(e.variant, e.datasource_id, e.product_id, e.kind, e.ts) for e in good] == [
        ("r12v3", 12, "A", "impression", AT_MS), ("r12v3", 12, "42", "click", AT_MS)]


def test_bad_recom_events_are_reported_by_entry():
    good, errors = parse_recom_events({"events": [
        "x", {"impressions": []}, {"recomVariantId": "v" * 65},
        {"recomVariantId": "1", "impressions": {"productId": "A"}, "clicks": [{"occurred": "soon", "productId": "B"},
                                                                           {"productId": "C"}]},
    ]}, max_entries=10, now_ms=NOW)
    assert [(e.product_id, e.ts) for e in good] == [("C", NOW)]
    assert [e["index"] for e in errors] == [0, 1, 2, 3, 3]
    assert "clicks[0]: occurred" in errors[4]["reason"]
    for bad in ({"events": {}}, [], {"events": [{}] * 3}):
        with pytest.raises(SdkRequestError):
            parse_recom_events(bad, max_entries=2)


# ---- device and user -------------------------------------------------------------------------------

def test_device_bodies():
    update = parse_device({"deviceId": "a1b2", "externalUserId": "user-42", "pushToken": "", "pushSubscribed": True,
                           "category": "MOBILE", "osType": "ANDROID", "languageCode": "en-US",
                           "timeZone": "Europe/Kyiv", "email": "Jane@example.com", "phone": "bad"})
    assert update.ids == {"pseudo_id": "a1b2", "external_id": "user-42", "email": "jane@example.com"}
    assert update.attributes == {"languageCode": "en-US", "timeZone": "Europe/Kyiv"}
    assert [i["field"] for i in update.ignored] == ["phone"]
    for bad, reason in (({"deviceId": ""}, "no identifier"), ({"deviceId": 5.5}, "pseudo_id"), ("x", "object")):
        with pytest.raises(SdkRequestError, match=reason):
            parse_device(bad)


def test_user_bodies():
    update = parse_user({"deviceId": "a1b2:user-42", "externalUserId": "user-42", "userAttributes": {
        "phone": "+380501234567", "firstName": "Jane", "lastName": None, "timeZone": "Europe/Kyiv",
        "address": {"region": "Kyiv", "postcode": "01001", "geo": {"x": 1}},
        "fields": [{"key": "loyalty", "value": "gold"}, {"key": "", "value": "x"}, {"key": "visits", "value": 3}]},
        "subscriptionKeys": ["news"]})
    assert update.ids == {"pseudo_id": "a1b2:user-42", "external_id": "user-42", "phone": "380501234567"}
    assert update.attributes == {"firstName": "Jane", "timeZone": "Europe/Kyiv", "address_region": "Kyiv",
                                 "address_postcode": "01001", "loyalty": "gold", "visits": 3}
    assert update.ignored == [{"field": "userAttributes.fields[1]", "reason": "key must be a short string"}]
    assert parse_user({"deviceId": "d"}).attributes == {}
    with pytest.raises(SdkRequestError, match="userAttributes"):
        parse_user({"deviceId": "d", "userAttributes": "x"})
