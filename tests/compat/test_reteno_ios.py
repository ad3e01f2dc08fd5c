"""The Reteno iOS SDK (2.7.2) pointed at recoms: every call built as the SDK builds it (its three request
flavours, JSONSerialization bodies with `\\/`, deviceId and externalUserId injected at the top level), every
answer read as the SDK reads it (strict JSONDecoder per item; NetworkError from an error body).

Wire facts: /tmp/compat/reteno.md §0, §4.3, §8–§12; the parsers: tests/compat/reteno_parsers.py.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from recoms.services.accounts import create_key
from recoms.store.tables import contacts, events, interactions, orders, recom_events
from tests.compat.reteno_parsers import (
    IOS_MINIMAL,
    IOS_SAMPLE,
    ios_get_recom_jsons,
    ios_get_recoms,
    ios_network_error,
    ns_json,
)
from tests.compat.test_reteno_android import ago, contact_of, open_shop, rows

VIEW, CART, PURCHASE = 1, 2, 3
IDFV = "E621E1F8-C36C-495A-93FC-0C247A3E6E5F"


def events_time(when: datetime) -> str:
    """ISO8601DateFormatter [.withInternetDateTime, .withFractionalSeconds]: 2024-01-01T10:00:00.123Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def base_time(when: datetime) -> str:
    """DateFormatter.baseBEDateFormatter (ISO8601DateFormatter()): 2024-01-01T10:00:00Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def float_noise(value: float) -> float:
    """A Swift Float printed by JSONSerialization as a Double: 19.99 -> 19.989999771118164."""
    return struct.unpack("f", struct.pack("f", value))[0]


class IosApp:
    """NetworkBuilder's three RequestManager flavours and the requests that use them."""

    URLSESSION: ClassVar[dict[str, str]] = {
        "Accept": "*/*", "Accept-Language": "en-GB,en;q=0.9", "Accept-Encoding": "gzip, deflate, br",
        "User-Agent": "RetenoExample/103 CFNetwork/1494.0.7 Darwin/23.4.0"}

    def __init__(self, client, api_key: str, device_id: str | None = IDFV, external_user_id: str | None = None):
        self.client, self.key, self.device_id, self.external_user_id = client, api_key, device_id, external_user_id

    def request(self, path: str, parameters: dict[str, Any], flavour: str):
        headers = {**self.URLSESSION, "Content-Type": "application/json", "X-Reteno-Access-Key": self.key,
                   "X-Reteno-SDK-Version": "iOS SDK 2.7.2"}
        if flavour == "H" and self.device_id:
            headers["X-Reteno-Device-ID"] = self.device_id
        if flavour in ("M", "MD"):  # the parameters decorator overwrites whatever the request set
            parameters = {**parameters, "deviceId": self.device_id or ""}
        if flavour == "M":  # the stored external id, or no key at all
            parameters.pop("externalUserId", None)
            if self.external_user_id:
                parameters["externalUserId"] = self.external_user_id
        return self.client.post(path, content=ns_json(parameters).encode(), headers=headers)

    # RecomsRequest: products always; category only when not blank; filters and fields only when not empty.
    def get_recoms(self, variant: str, product_ids: list[str], category_id: str | None = None,
                   filters: list[dict] | None = None, fields: list[str] | None = None):
        parameters: dict[str, Any] = {"products": product_ids}
        if category_id and category_id.strip():
            parameters["category"] = category_id
        if filters:
            parameters["filters"] = filters
        if fields:
            parameters["fields"] = fields
        return self.request(f"/api/v1/recoms/{variant}/request", parameters, "H")

    # SendRecomEventsOperation: one entry per logEvent call (a variant may repeat), empty lists left out.
    def send_recom_events(self, calls: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]):
        entries = []
        for variant, impressions, clicks in calls:
            entry: dict[str, Any] = {"recomVariantId": variant}
            if impressions:
                entry["impressions"] = [{"occurred": t, "productId": p} for p, t in impressions]
            if clicks:
                entry["clicks"] = [{"occurred": t, "productId": p} for p, t in clicks]
            entries.append(entry)
        return self.request("/api/v1/recoms/events", {"events": entries}, "H")

    def send_events(self, events_: list[dict[str, Any]]):
        return self.request("/api/v1/events", {"events": events_}, "M")

    def upsert_device(self, flavour: str = "M", email: str | None = None, phone: str | None = None):
        parameters: dict[str, Any] = {
            "category": "MOBILE", "osType": "IOS", "osVersion": "17.4.1", "deviceModel": "iPhone",
            "timeZone": "Europe/Kyiv", "pushToken": "8f3ce91a", "pushSubscribed": True, "languageCode": "en",
            "appVersion": "1.0.3"}
        for name, value in (("externalUserId", self.external_user_id), ("email", email), ("phone", phone)):
            if value is not None:
                parameters[name] = value
        return self.request("/api/v1/device", parameters, flavour)

    # SendUserOperation (flavour MD): /device first when the user has an externalUserId, then /user.
    def update_user_attributes(self, external_user_id: str | None, attributes: dict[str, Any]):
        self.external_user_id = external_user_id
        device = None
        if external_user_id:
            device = self.upsert_device("MD", attributes.get("email"), attributes.get("phone"))
        parameters: dict[str, Any] = {"deviceId": self.device_id or "", "userAttributes": attributes}
        if external_user_id:
            parameters["externalUserId"] = external_user_id
        return device, self.request("/api/v1/user", parameters, "MD")


def event(key: str, when: datetime, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = {"eventTypeKey": key, "occurred": events_time(when)}
    if params:
        body["params"] = [{"name": k, "value": v} for k, v in params.items()]
    return body


def product_viewed(product_id: str, price: float, when: datetime, **attributes: list[str]) -> dict[str, Any]:
    product = {"productId": product_id, "price": float_noise(price), "isInStock": 1, **attributes}
    return event("productViewed", when, product=ns_json(product), currencyCode="UAH")


@pytest.fixture
def app(shop) -> IosApp:
    return IosApp(shop.client, open_shop(shop))


# ---- recommendations ----------------------------------------------------------------------------

def test_get_recoms_decodes_every_item_with_the_example_model(shop, app):
    ds = shop.datasource(algorithm="bestsellers", size=5)
    r = app.get_recoms(f"r{ds}v1", [])
    assert r.status_code == 200, r.text
    raw = r.json()["recoms"]
    assert [x["productId"] for x in raw][:3] == ["SKU-7", "SKU-8", "1001"]
    outcome, decoded = ios_get_recoms(r.text, IOS_SAMPLE)
    assert outcome == "success" and len(decoded) == len(raw)  # none dropped by the strict decoder
    numbered = next(x for x in raw if x["productId"] == "1001")
    assert "imageUrl" not in numbered  # no image: left out, never "" (URL? would drop the item)
    assert decoded[0]["imageUrl"] == "https://shop.test/i/7.jpg" and isinstance(decoded[0]["price"], float)
    assert ios_get_recom_jsons(r.text) == ("success", raw)


def test_get_recoms_with_context_fields_and_filters(shop, app):
    ds = shop.datasource(algorithm="similar", size=4)
    r = app.get_recoms(str(ds), ["SKU-2"], category_id="Gear/Balls", filters=[{"name": "brand", "values": ["Volt"]}],
                       fields=["name", "descr", "price", "imageUrl"])
    assert r.status_code == 200, r.text
    assert all(set(x) <= {"productId", "name", "descr", "price", "imageUrl"} for x in r.json()["recoms"])
    outcome, decoded = ios_get_recoms(r.text, IOS_SAMPLE)
    assert outcome == "success" and decoded and len(decoded) == len(r.json()["recoms"])
    assert ios_get_recoms(app.get_recoms(str(ds), ["SKU-2"], fields=["price"]).text, IOS_MINIMAL)[0] == "success"


def test_errors_decode_as_network_errors(shop, app, make_shop):
    similar = shop.datasource(algorithm="similar")
    r = app.get_recoms(str(similar), [], category_id="   ")
    assert r.status_code == 400 and ios_network_error(r.text)["detail"].startswith(f"data source {similar}")
    r = app.get_recoms("r424242v1", [])
    assert r.status_code == 404 and ios_network_error(r.text)["title"] == "Not found"
    basic = make_shop("basic")
    r = IosApp(basic.client, create_key(basic.platform.engine, basic.account_id, ["mobile"])["api_key"]).get_recoms(
        "1", [])
    assert r.status_code == 403 and ios_network_error(r.text)["title"] == "Forbidden"
    r = IosApp(shop.client, "").get_recoms("1", [])
    assert r.status_code == 401 and ios_network_error(r.text) is not None


def test_without_a_stored_device_id_there_is_no_header_and_no_personalisation(shop, app):
    ds = shop.datasource(algorithm="recently_viewed", size=3, fallback=[])
    r = IosApp(shop.client, app.key, device_id=None).get_recoms(str(ds), [])
    assert r.status_code == 200 and r.json()["recoms"] == []  # beside it: the recommendationId (ignored by the SDK)


# ---- the app's flow end to end -------------------------------------------------------------------

def test_an_iphone_logs_in_browses_buys_and_gets_its_own_recommendations(shop, app):
    recently = shop.datasource(algorithm="recently_viewed", size=5, fallback=[])
    personal = shop.datasource(algorithm="personal", size=3)
    assert app.upsert_device().status_code == 200
    device, user = app.update_user_attributes("user-42", {
        "email": "jane@example.com", "firstName": "Jane", "timeZone": "Europe/Kyiv",
        "fields": [{"key": "loyalty_level", "value": "gold"}]})
    assert (device.status_code, device.json(), user.status_code, user.json()) == (200, {}, 200, {})
    contact = contact_of(shop, "pseudo_id", IDFV)
    assert contact == contact_of(shop, "external_id", "user-42") == contact_of(shop, "email", "jane@example.com")
    (row,) = rows(shop, contacts, contacts.c.id == contact)
    assert row.attributes["loyalty_level"] == "gold" and row.attributes["firstName"] == "Jane"

    cart = [{"productId": "SKU-5", "price": float_noise(15.1), "quantity": 2}]
    items = [{"externalItemId": "SKU-9", "name": "Ball", "category": "Gear", "quantity": 1.0,
              "cost": float_noise(19.0), "url": "https://shop.test/p/SKU-9"}]
    r = app.send_events([
        product_viewed("SKU-3", 13.0, ago(40)),
        product_viewed("SKU-5", 15.1, ago(30), color=["red"]),
        event("cartUpdated", ago(29), cartId="cart-1", products=ns_json(cart)),
        product_viewed("SKU-1", 11.0, ago(20)),
        event("searchRequest", ago(15), search="blue ball"),  # isFound only when the app gave it
        event("orderCreated", ago(10), externalOrderId="IOS-1", totalCost="19.0", status="INITIALIZED",
              date=base_time(ago(10)), email="jane@example.com", items=ns_json(items),
              giftWrap=ns_json({"color": "red"}), currencyCode="UAH"),
        event("screenView", ago(5), screenClass="CartViewController"),
    ])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 7 and r.json()["errors"] == []
    kinds = {(x.kind, x.product_id) for x in rows(shop, interactions, interactions.c.contact_id == contact)}
    assert {(VIEW, "SKU-3"), (VIEW, "SKU-5"), (CART, "SKU-5"), (VIEW, "SKU-1"), (PURCHASE, "SKU-9")} <= kinds
    (order,) = rows(shop, orders, orders.c.order_number == "IOS-1")
    assert order.contact_id == contact and order.total == 19.0
    assert {"Custom", "SearchRequest"} <= {e.type for e in rows(shop, events, events.c.contact_id == contact)}

    seen = app.get_recoms(f"r{recently}v7", [])
    outcome, decoded = ios_get_recoms(seen.text, IOS_SAMPLE)
    assert outcome == "success" and [x["productId"] for x in decoded] == ["SKU-1", "SKU-5", "SKU-3"]
    outcome, mine = ios_get_recoms(app.get_recoms(str(personal), []).text, IOS_SAMPLE)
    assert outcome == "success" and mine[0]["productId"] == "SKU-2" and "SKU-9" not in [x["productId"] for x in mine]


def test_events_before_a_device_id_is_stored(shop, app):
    anonymous = IosApp(shop.client, app.key, device_id=None)
    r = anonymous.send_events([event("screenView", ago(3), screenClass="Main"),
                               product_viewed("SKU-1", 11.0, ago(2))])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and [e["index"] for e in r.json()["errors"]] == [1]


def test_device_and_user_updates_answer_200_with_a_json_body(shop, app):
    r = app.upsert_device()
    assert (r.status_code, r.json()) == (200, {})
    _, anonymous = app.update_user_attributes(None, {"firstName": "Anon", "timeZone": "Europe/Kyiv"})
    assert (anonymous.status_code, anonymous.json()) == (200, {})
    (row,) = rows(shop, contacts, contacts.c.id == contact_of(shop, "pseudo_id", IDFV))
    assert row.attributes["firstName"] == "Anon" and row.attributes["languageCode"] == "en"
    nobody = IosApp(shop.client, app.key, device_id=None)  # deviceId "" and no externalUserId: nothing to link
    assert nobody.request("/api/v1/user", {"userAttributes": {"firstName": "X"}}, "MD").status_code == 400


# ---- impressions and clicks ------------------------------------------------------------------------

def test_recom_events_repeated_variants_omitted_lists_and_minutes_only(shop, app):
    ds = shop.datasource(algorithm="bestsellers", size=5)
    assert app.upsert_device().status_code == 200
    variant = f"r{ds}v1482"
    r = app.send_recom_events([
        (variant, [("SKU-7", base_time(ago(60))), ("SKU-8", base_time(ago(60)))], []),
        (variant, [], [("SKU-8", base_time(ago(50)))]),
        (variant, [("1001", ago(120).strftime("%Y-%m-%dT%H:%M"))], []),  # yyyy-MM-dd'T'HH:mm
    ])
    assert (r.status_code, r.json()) == (200, {"accepted": 4, "errors": []})
    stored = rows(shop, recom_events)
    assert sorted((x.product_id, x.kind) for x in stored) == [
        ("1001", "impression"), ("SKU-7", "impression"), ("SKU-8", "click"), ("SKU-8", "impression")]
    assert {(x.variant, x.datasource_id, x.contact_id) for x in stored} == {
        (variant, ds, contact_of(shop, "pseudo_id", IDFV))}
