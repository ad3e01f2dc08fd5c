"""The Yespo Shopify app (Yespo-CDP/yespo-shopify) against recoms: every call its server makes, built as
its code builds it (Node's fetch: lower-case header names, `Basic base64("user:" + key)`,
`JSON.stringify` bodies, numbers where its payload builders put numbers), asserting what the app reads
back and the effect. Its storefront script runs in Chromium in test_storefront_browser.py.

Base URLs the shop sets in the app's environment: API_URL=<recoms>/api/v1, ESPUTNIK_URL=<recoms>/api/v1,
WEB_TRACKER_URL=<recoms>/api/v2.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.compat.wire import (
    CART,
    PURCHASE,
    ClientError,
    attributes,
    basic,
    cart_of,
    contact_of,
    domain_of,
    event_types,
    identifiers,
    interactions_of,
    js_json,
    order,
    parse_like_fetch_with_error_handling,
)
from tests.feeds import gmc_xml

SC = "CDA68358-94FB-4D83-9655-3FEB3C4114A3"
CUSTOMER = "7421234567890"


class ShopifyApp:
    """The app's calls (app/api/*.ts), each as its code sends it."""

    def __init__(self, shop) -> None:
        self.shop, self.client = shop, shop.client
        self.auth = basic("user", shop.key)  # app/utils/auth.ts

    def json_headers(self) -> dict[str, str]:
        return {"content-type": "application/json", "authorization": self.auth}

    def fetch(self, method: str, path: str, body=None, headers=None):
        """`fetchWithErrorHandling` (app/utils/fetchWithErrorHandling.ts)."""
        r = self.client.request(method, path, content=None if body is None else js_json(body),
                                headers=headers or self.json_headers())
        return parse_like_fetch_with_error_handling(r)

    def account_info(self, key: str | None = None):
        """S1 get-account-info.server.ts: parses JSON before it looks at the status."""
        r = self.client.get("/api/v1/account/info", headers={
            "accept": "application/json; charset=UTF-8", "authorization": basic("user", key or self.shop.key)})
        parsed = r.json()  # a non-JSON 401 would throw here
        if r.status_code == 401:
            raise ClientError("invalidApiKey", 401)
        if r.status_code >= 300:
            raise ClientError("unknownError", r.status_code)
        return parsed

    def tracker(self, envelope: dict):
        """S14/S15: POST WEB_TRACKER_URL (the bare /api/v2) with the key."""
        r = self.client.post("/api/v2", content=js_json(envelope), headers=self.json_headers())
        return r.status_code, r.json()


@pytest.fixture
def app(shop) -> ShopifyApp:
    shop.feed(gmc_xml([{"id": pid, "price": 19.99, "category": "Tees"} for pid in ("44012345678901", "44012345678902",
                                                                                     "44012345678903")]))
    return ShopifyApp(shop)


def test_s1_account_info_is_the_key_check(app, shop):
    info = app.account_info()
    assert info == {"orgId": shop.account_id, "organisationName": info["organisationName"], "userEmail": ""}
    assert isinstance(info["orgId"], int) and info["organisationName"].startswith("shop-")
    with pytest.raises(ClientError) as refused:
        app.account_info("rk_wrong")
    assert refused.value.message == "invalidApiKey"  # not a SyntaxError from a non-JSON body


def test_s2_domain_registration_returns_the_site_id_every_time(app, shop, make_shop):
    first = app.fetch("POST", "/api/v1/site/domains", {"domain": "www." + domain_of(shop)})
    again = app.fetch("POST", "/api/v1/site/domains", {"domain": "www." + domain_of(shop)})
    assert first["siteId"] == again["siteId"] == shop.site_id
    other = ShopifyApp(make_shop())
    with pytest.raises(ClientError) as taken:
        other.fetch("POST", "/api/v1/site/domains", {"domain": "www." + domain_of(shop)})
    assert "Domain is already registered" in taken.value.message  # the app's domainAlreadyRegisteredError


def test_s3_the_script_survives_the_metafield_and_the_app_inbox_switch(app, shop):
    script = app.fetch("GET", "/api/v1/site/script",
                       headers={"accept": "text/plain", "authorization": app.auth})
    assert isinstance(script, str)  # JSON.parse failed: kept as text, as the app needs
    stored = re.sub(r"\s+", " ", script.replace("\n", "")).strip()  # create-metafield.server.ts
    assert shop.site_id in stored and "<script>" in stored
    inbox = re.compile(r"""eS\(\s*['"]init['"]\s*\)""")  # switch-app-inbox-script-mode.server.ts
    assert len(inbox.findall(stored)) == 1


def test_s4_s5_web_push_setup_completes(app):
    domain = app.fetch("POST", "/api/v1/site/webpush/domain", {
        "domain": "https://www.mystore.com", "serviceWorkerName": "service-worker.js",
        "serviceWorkerPath": "/apps/yespo-proxy/", "serviceWorkerScope": "/apps/yespo-proxy/"})
    assert "Domain can't be reached" not in str(domain.get("errors", {}).get("message", ""))
    script = app.fetch("GET", "/api/v1/site/webpush/script?domain=https://www.mystore.com",
                       headers={"accept": "application/json", "authorization": app.auth})
    assert script["script"]


def test_s6_s7_the_admin_token_handover_succeeds(app):
    app.fetch("POST", "/api/v1/shopify/token", {"domain": "mystore.myshopify.com", "accessToken": "shpat_0123"})
    app.fetch("DELETE", "/api/v1/shopify/token")


def test_s8_s9_contact_create_then_update(app, shop, platform):
    created = app.fetch("POST", "/api/v1/contact", {
        "firstName": "Jane", "lastName": "Doe", "channels": [{"type": "email", "value": "jane@example.com"},
                                                             {"type": "sms", "value": "+15551234567"}],
        "externalCustomerId": CUSTOMER})
    contact = contact_of(platform, shop.account_id, "external_id", CUSTOMER)
    assert created["id"] == contact
    assert identifiers(platform, shop.account_id, contact) == {
        "external_id": CUSTOMER, "email": "jane@example.com", "phone": "15551234567"}
    updated = app.fetch("POST", "/api/v1/contact", {
        "firstName": "Jane", "lastName": "Roe", "channels": [{"type": "email", "value": "jane@example.com"}],
        "externalCustomerId": CUSTOMER, "address": {"town": "Kyiv", "address": "1 Main St", "postcode": "01001"}})
    assert updated["id"] == contact
    assert attributes(platform, shop.account_id, contact) | {} == {
        "firstName": "Jane", "lastName": "Roe", "town": "Kyiv", "address": "1 Main St", "postcode": "01001"}


def test_s10_bulk_contacts_report_their_failures(app, shop, platform):
    result = app.fetch("POST", "/api/v1/contacts", {"contacts": [
        {"firstName": "Jane", "lastName": "", "channels": [{"type": "email", "value": "jane@example.com"}],
         "externalCustomerId": CUSTOMER, "address": {"town": "Kyiv", "address": "1 Main St", "postcode": ""}},
        {"firstName": "Bad", "lastName": "", "channels": [{"type": "email", "value": "not-an-email"}],
         "externalCustomerId": "7421234567891"},
    ], "dedupeOn": "externalCustomerId", "restoreDeleted": True})
    assert isinstance(result["failedContacts"], list) and len(result["failedContacts"]) == 1
    assert contact_of(platform, shop.account_id, "external_id", CUSTOMER) is not None
    assert contact_of(platform, shop.account_id, "external_id", "7421234567891") is None


def test_s11_gdpr_redact_erases_the_contact(app, shop, platform):
    app.fetch("POST", "/api/v1/contact", {"firstName": "Jane", "lastName": "Doe", "externalCustomerId": CUSTOMER,
                                          "channels": [{"type": "email", "value": "jane@example.com"}]})
    app.tracker(_cart_event(shop, [("44012345678901", "19.99", 1)]))
    contact = contact_of(platform, shop.account_id, "external_id", CUSTOMER)
    assert interactions_of(platform, shop.account_id, contact)
    app.fetch("DELETE", f"/api/v1/contact?externalCustomerId={CUSTOMER}&erase=true")
    assert contact_of(platform, shop.account_id, "external_id", CUSTOMER) is None
    assert contact_of(platform, shop.account_id, "cookie", SC) is None
    assert not interactions_of(platform, shop.account_id, contact)
    with pytest.raises(ClientError) as again:
        app.fetch("DELETE", f"/api/v1/contact?externalCustomerId={CUSTOMER}&erase=true")
    assert "not found" in again.value.message  # the app swallows exactly these


def _order(status: str, cost: float, total: float = 45.98, customer: str | None = CUSTOMER) -> dict:
    order = {"firstName": "Jane", "lastName": "Doe", "email": "jane@example.com", "phone": "",
             "externalOrderId": "5678901234567", "externalCustomerId": customer, "totalCost": total, "discount": 4,
             "shipping": 10, "taxes": 0, "currency": "USD", "date": "2025-09-18T10:11:12+00:00", "status": status,
             "deliveryAddress": "Jane Doe, 1 Main St, Kyiv, 01001, Ukraine",
             "items": [{"externalItemId": "44012345678902", "name": "T-Shirt - M", "quantity": 2, "cost": cost}]}
    if customer is None:
        del order["externalCustomerId"]  # a guest order: the key is undefined, so JSON.stringify drops it
    return order


def test_s12_order_webhook_is_stored_once_and_its_status_follows(app, shop, platform):
    assert app.fetch("POST", "/api/v1/orders", {"orders": [_order("INITIALIZED", 19.99)]}) == ""
    contact = contact_of(platform, shop.account_id, "external_id", CUSTOMER)
    bought = interactions_of(platform, shop.account_id, contact, PURCHASE)
    assert [(b.product_id, b.quantity, b.price) for b in bought] == [("44012345678902", 2.0, 19.99)]
    assert app.fetch("POST", "/api/v1/orders", {"orders": [_order("DELIVERED", 19.99)]}) == ""
    assert len(interactions_of(platform, shop.account_id, contact, PURCHASE)) == 1
    assert order(platform, shop.account_id, "5678901234567").status == "delivered"
    app.fetch("POST", "/api/v1/orders", {"orders": [_order("CANCELLED", 19.99)]})
    assert not interactions_of(platform, shop.account_id, contact, PURCHASE)


def test_s13_bulk_orders_with_line_totals_and_guests(app, shop, platform):
    result = app.fetch("POST", "/api/v1/orders", {"orders": [
        _order("DELIVERED", 39.98), {**_order("DELIVERED", 39.98, customer=""), "externalOrderId": "2"},
        {"externalOrderId": "3", "status": "DELIVERED", "items": [{"externalItemId": "x", "quantity": "two"}]}]})
    assert len(result["failedOrders"]) == 1 and result["failedOrders"][0]["externalOrderId"] == "3"
    contact = contact_of(platform, shop.account_id, "external_id", CUSTOMER)
    (line,) = [r for r in interactions_of(platform, shop.account_id, contact, PURCHASE)
               if r.order_number == "5678901234567"]
    assert line.price == pytest.approx(19.99)  # 39.98 for two: a line total, read as such
    # The guest order (externalCustomerId "") is its email's contact.
    assert order(platform, shop.account_id, "2").contact_id == contact


def now_ms() -> int:
    return int(time.time() * 1000)  # Date.now()


def _cart_event(shop, lines, sc: str = SC) -> dict:
    """send-status-cart.server.ts: identifiers in GeneralInfo after cookies; productKey = variant id."""
    return {"GeneralInfo": {"eventName": "StatusCart", "siteId": shop.site_id, "datetime": now_ms(),
                            "cookies": {"sc": sc}, "externalCustomerId": CUSTOMER, "user_name": "Jane Doe",
                            "user_email": "jane@example.com"},
            "StatusCart": {"GUID": "e3da89da-e17f-470b-ae2b-08a86da04fb8", "Products": [
                {"productKey": key, "price": price, "discount": "2.00", "quantity": qty,
                 "price_currency_code": "USD"} for key, price, qty in lines]}}


def test_s14_status_cart_links_the_visitor_and_sets_the_cart(app, shop, platform):
    status, body = app.tracker(_cart_event(shop, [("44012345678901", "19.99", 2), ("44012345678903", "5", 1)]))
    assert status == 200 and body["accepted"] == 1
    contact = contact_of(platform, shop.account_id, "cookie", SC)
    assert contact == contact_of(platform, shop.account_id, "external_id", CUSTOMER)
    assert cart_of(platform, shop.account_id, contact) == ["44012345678901", "44012345678903"]
    assert {r.product_id for r in interactions_of(platform, shop.account_id, contact, CART)} == {
        "44012345678901", "44012345678903"}
    app.tracker(_cart_event(shop, []))  # emptied
    assert cart_of(platform, shop.account_id, contact) == []


def test_s15_purchased_items_count_for_the_next_recommendations(app, shop, platform):
    envelope = {"GeneralInfo": {"eventName": "PurchasedItems", "siteId": shop.site_id, "datetime": now_ms(),
                                "cookies": {"sc": SC}, "externalCustomerId": CUSTOMER, "user_name": "Jane Doe",
                                "user_phone": "+15551234567", "user_email": "jane@example.com"},
                "TrackedOrderId": "0b8e2c1a-3f4d-4e5f-9a6b-7c8d9e0f1a2b",
                "PurchasedItems": {"Products": [{"productKey": "44012345678903", "unit_price": "19.99",
                                                 "quantity": 2}], "OrderNumber": "5678901234567"}}
    status, body = app.tracker(envelope)
    assert status == 200 and body["accepted"] == 1
    contact = contact_of(platform, shop.account_id, "external_id", CUSTOMER)
    assert [r.product_id for r in interactions_of(platform, shop.account_id, contact, PURCHASE)] == [
        "44012345678903"]
    assert order(platform, shop.account_id, "5678901234567").contact_id == contact
    status, body = app.tracker(envelope)  # a webhook retry
    assert body["duplicates"] and len(interactions_of(platform, shop.account_id, contact, PURCHASE)) == 1
    ds = shop.datasource(algorithm="bestsellers")
    shop.train()
    assert shop.recommend_ids(ds)[0] == "44012345678903"


def test_s16_the_apps_log_records_are_accepted_and_not_stored(app, shop, platform):
    log = {"orgId": shop.account_id, "typeCMS": "Shopify", "errorMessage": "",
           "data": '{"domain":"www.mystore.com","statusCode":200}', "message": "ADD_DOMAIN_SUCCESS",
           "log_level": "INFO"}
    r = shop.client.post("/api/v2", content=js_json(log), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["accepted"] == 0 and r.json()["ignored"]
    assert event_types(platform, shop.account_id) == []


def test_s17_the_app_inbox_token_works_for_recommendations(app, shop):
    ds = shop.datasource(algorithm="bestsellers")
    # public.app-inbox.get-token.tsx forwards the browser's body: the customer id is a JSON number.
    body = app.fetch("POST", "/api/v1/auth/contact/token",
                     {"externalCustomerId": int(CUSTOMER), "email": "jane@example.com", "phone": None})
    assert body["token"]
    r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": body["token"]})
    assert r.status_code == 200 and r.headers["ES-TOKEN"]
