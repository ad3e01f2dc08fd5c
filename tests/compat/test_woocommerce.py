"""The Yespo WooCommerce plugin (Yespo-CDP/yespo-woocommerce) against recoms: every call its PHP makes,
built as its code builds it (WordPress HTTP API: `Basic base64(":" + key)` with an empty user name,
`wp_json_encode` bodies — `\\/` and `\\uXXXX` — customer and item ids as PHP ints, money as strings, `""`
for none), asserting what the plugin reads back (often the bare status) and the effect. Its storefront
script runs in Chromium in test_storefront_browser.py.

The plugin's hosts are fixed (yespo.io, tracker.yespo.io): the shop points them at recoms (README).
"""

from __future__ import annotations

import time

import pytest

from tests.compat.wire import (
    CART,
    PURCHASE,
    attributes,
    basic,
    cart_of,
    contact_of,
    domain_of,
    identifiers,
    interactions_of,
    order,
    php_json,
)
from tests.feeds import gmc_xml

SC = "CDA68358-94FB-4D83-9655-3FEB3C4114A3"
PROFILE = {"channels": [{"value": "jane@example.com", "type": "email"}, {"value": "380501234567", "type": "sms"}],
           "externalCustomerId": 15, "firstName": "Олена", "lastName": "Doe",
           "address": {"region": "Kyivska oblast", "town": "Kyiv", "address": "1 Main St", "postcode": "01001"},
           "languageCode": "uk"}


class WooPlugin:
    def __init__(self, shop) -> None:
        self.shop, self.client = shop, shop.client
        self.auth = basic("", shop.key)

    def curl_request(self, method: str, path: str, body=None):
        """Yespo_Curl_Request::curl_request: the status for DELETE/orders/400/429/500, else the body."""
        headers = {"Accept": "application/json; charset=UTF-8", "Authorization": self.auth,
                   "Content-Type": "application/json"}
        return self.client.request(method, path, content=php_json(body) if body else b"", headers=headers)

    def tracker(self, body: dict):
        """Yespo_Web_Tracking_Curl_Request::curl_request to https://tracker.yespo.io/api/v2."""
        return self.client.post("/api/v2", content=php_json(body), headers={
            "Accept": "application/json; charset=UTF-8", "Authorization": self.auth,
            "Content-Type": "application/json"})


@pytest.fixture
def woo(shop) -> WooPlugin:
    shop.feed(gmc_xml([{"id": pid, "price": 45.0, "category": "Hoodies"} for pid in ("57", "58", "59")]))
    return WooPlugin(shop)


def test_w1_w2_the_key_check_is_exactly_200_and_the_profile_name_is_read(woo, shop):
    r = shop.client.get("/api/v1/account/info", headers={"Accept": "application/json; charset=UTF-8",
                                                         "Authorization": woo.auth})
    assert r.status_code == 200  # Yespo_Account::send_keys compares === 200
    assert woo.curl_request("GET", "/api/v1/account/info").json()["organisationName"].startswith("shop-")
    bad = shop.client.get("/api/v1/account/info", headers={"Authorization": basic("", "rk_wrong")})
    assert bad.status_code == 401 and bad.json()["status"] == 401  # export_bulk_users looks for "status":401


def test_w3_the_full_site_url_registers_its_host(woo, shop):
    r = woo.curl_request("POST", "/api/v1/site/domains", {"domain": f"https://{domain_of(shop)}/shop"})
    assert r.status_code in (200, 201) and r.json()["siteId"] == shop.site_id
    again = woo.curl_request("POST", "/api/v1/site/domains", {"domain": f"https://{domain_of(shop).upper()}"})
    assert again.status_code == 200 and again.json()["siteId"] == shop.site_id


def test_w4_the_script_comes_before_the_domain_and_is_html(woo, shop):
    r = shop.client.get("/api/v1/site/script", headers={"Accept": "text/plain", "Authorization": woo.auth})
    assert r.status_code == 200  # the plugin never retries a failure here
    assert r.text.lstrip().startswith("<script>") and "eS('init')" in r.text and shop.site_id in r.text


def test_w5_profile_update_stores_the_contact_and_returns_its_id(woo, shop, platform):
    r = woo.curl_request("POST", "/api/v1/contact", PROFILE)
    contact = contact_of(platform, shop.account_id, "external_id", "15")
    assert r.status_code == 200 and r.json()["id"] == contact  # stored as the user's yespo_contact_id
    assert identifiers(platform, shop.account_id, contact) == {
        "external_id": "15", "email": "jane@example.com", "phone": "380501234567"}
    assert attributes(platform, shop.account_id, contact)["firstName"] == "Олена"
    # The address-edit variant: empty email, names replaced by " " placeholders.
    edit = {"channels": [{"value": "", "type": "email"}, {"value": "380501234567", "type": "sms"}],
            "externalCustomerId": 15, "firstName": " ", "lastName": " ",
            "address": {"region": "KV", "town": "Kyiv", "address": "2 Main St", "postcode": "01001"}}
    assert woo.curl_request("POST", "/api/v1/contact", edit).json()["id"] == contact
    kept = attributes(platform, shop.account_id, contact)
    assert kept["firstName"] == "Олена" and kept["address"] == "2 Main St"


def test_w6_a_removed_phone_is_removed(woo, shop, platform):
    woo.curl_request("POST", "/api/v1/contact", PROFILE)
    r = woo.curl_request("POST", "/api/v1/contacts", {
        "dedupeOn": "email", "contactFields": ["sms"], "contacts": [{"channels": [
            {"type": "email", "value": "jane@example.com"}]}]})
    assert r.status_code == 200
    contact = contact_of(platform, shop.account_id, "email", "jane@example.com")
    assert "phone" not in identifiers(platform, shop.account_id, contact)


def test_w7_bulk_export_gets_a_session_id(woo, shop, platform):
    second = {**PROFILE, "externalCustomerId": 16, "channels": [{"value": "max@example.com", "type": "email"},
                                                                {"value": " ", "type": "sms"}]}
    r = woo.curl_request("POST", "/api/v1/contacts", {"dedupeOn": "externalCustomerId",
                                                      "contacts": [PROFILE, second]})
    assert r.status_code == 200 and r.json()["asyncSessionId"] and r.json()["failedContacts"] == []
    assert identifiers(platform, shop.account_id, contact_of(platform, shop.account_id, "external_id", "16")) == {
        "external_id": "16", "email": "max@example.com"}  # the " " placeholder phone is no phone


def test_w8_w9_web_push_setup_completes(woo, shop):
    r = woo.curl_request("POST", "/api/v1/site/webpush/domains", {"domains": [{
        "domain": "https://shop.example.com", "serviceWorkerName": "push-yespo-sw.js",
        "serviceWorkerPath": "/wp-content/uploads/yespo-cdp/",
        "serviceWorkerScope": "/wp-content/uploads/yespo-cdp/"}]})
    assert 200 <= r.status_code < 300
    script = woo.curl_request("GET", "/api/v1/site/webpush/script?domain=https%3A%2F%2Fshop.example.com").json()
    assert script["script"] is not None and script["serviceWorker"] is not None


def _order(number: str, status: str, **extra) -> dict:
    return {"status": status, "externalOrderId": number, "externalCustomerId": 15, "totalCost": "95.00",
            "email": "jane@example.com", "date": "2025-09-18T10:11:12.000000+00:00", "currency": "UAH",
            "firstName": "Jane", "lastName": "Doe", "deliveryAddress": "Apt 2 1 Main St Kyiv 01001 Ukraine ",
            "phone": "380501234567", "shipping": "50.00", "discount": "", "taxes": "", "source": "checkout",
            "paymentMethod": "cod", "items": [{
                "externalItemId": 58, "name": "Hoodie - Blue", "category": "Clothing, Hoodies", "quantity": 1,
                "cost": "45", "url": "https://shop.example.com/product/hoodie/?attribute_pa_color=blue",
                "imageUrl": "", "description": "<p>Soft hoodie</p>"}], "additionalInfo": {"comment": "Call me"},
            **extra}


def test_w10_w11_orders_with_string_money_are_stored_once(woo, shop, platform):
    r = woo.curl_request("POST", "/api/v1/orders", {"orders": [_order("1234", "IN_PROGRESS")]})
    assert r.status_code == 200  # the plugin looks at the status only
    contact = contact_of(platform, shop.account_id, "external_id", "15")
    assert [(p.product_id, p.price) for p in interactions_of(platform, shop.account_id, contact, PURCHASE)] == [
        ("58", 45.0)]
    assert order(platform, shop.account_id, "1234").total == 95.0
    bulk = woo.curl_request("POST", "/api/v1/orders", {"orders": [
        _order("1234", "DELIVERED"), _order("1235", "CANCELLED", date=None)]})
    assert bulk.status_code == 200
    assert order(platform, shop.account_id, "1234").status == "delivered"
    assert order(platform, shop.account_id, "1235").status == "cancelled"
    assert len(interactions_of(platform, shop.account_id, contact, PURCHASE)) == 1


def test_w12_delete_answers_exactly_200(woo, shop, platform):
    woo.curl_request("POST", "/api/v1/contact", PROFILE)
    r = woo.curl_request("DELETE", "/api/v1/contact?externalCustomerId=15&erase=false")
    assert r.status_code == 200  # anything else is retried by the plugin's cron
    assert contact_of(platform, shop.account_id, "external_id", "15") is None


def _info(shop, event: str, **ids) -> dict:
    return {"eventName": event, "siteId": shop.site_id, "datetime": int(time.time()) * 1000, **ids,
            "cookies": {"sc": SC}}


def test_w13_w14_login_links_the_browser_to_the_customer(woo, shop, platform):
    woo.tracker({"GeneralInfo": _info(shop, "ProductPage"), "ProductPage": {"productKey": "57"}})
    visitor = contact_of(platform, shop.account_id, "cookie", SC)
    r = woo.tracker({"GeneralInfo": _info(shop, "CustomerData", externalCustomerId=15, user_phone="+38 (050) 123-45-67",
                                          user_email="jane@example.com", user_name="Jane Doe")})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    customer = contact_of(platform, shop.account_id, "external_id", "15")
    assert contact_of(platform, shop.account_id, "cookie", SC) == customer
    assert [v.product_id for v in interactions_of(platform, shop.account_id, customer)] == ["57"]  # history joined
    assert attributes(platform, shop.account_id, customer)["user_name"] == "Jane Doe"
    assert visitor is not None
    # The web-contact link that follows every login: no GeneralInfo at all.
    link = woo.tracker({"externalCustomerId": "16", "webId": "visitor-2", "orgId": shop.account_id,
                        "email": "max@example.com"})
    assert link.status_code == 200
    assert contact_of(platform, shop.account_id, "cookie", "visitor-2") == contact_of(
        platform, shop.account_id, "external_id", "16")
    guest = woo.tracker({"externalCustomerId": None, "webId": None, "orgId": 0, "email": "guest@example.com"})
    assert guest.status_code == 200, guest.text


def test_w15_carts_with_and_without_a_session(woo, shop, platform):
    cart = {"GUID": "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c", "Products": [
        {"productKey": "58", "price": "45", "quantity": 2, "price_currency_code": "UAH"}]}
    r = woo.tracker({"GeneralInfo": _info(shop, "StatusCart"), "StatusCart": cart})
    assert r.status_code == 200 and "anonymous" not in r.json()
    visitor = contact_of(platform, shop.account_id, "cookie", SC)
    assert cart_of(platform, shop.account_id, visitor) == ["58"]
    # No PHP session: sc is null, and an emptied cart's GUID may be false.
    no_session = {**_info(shop, "StatusCart"), "cookies": {"sc": None}}
    r = woo.tracker({"GeneralInfo": no_session, "StatusCart": cart})
    assert r.status_code == 200 and r.json()["anonymous"][0]["index"] == 0
    assert [c.product_id for c in interactions_of(platform, shop.account_id, None, CART)] == ["58"]
    r = woo.tracker({"GeneralInfo": _info(shop, "StatusCart"), "StatusCart": {"GUID": False, "Products": []}})
    assert r.status_code == 200 and cart_of(platform, shop.account_id, visitor) == []


def test_w16_purchase_thank_you_page(woo, shop, platform):
    envelope = {"GeneralInfo": _info(shop, "PurchasedItems", externalCustomerId=15, user_phone="+380501234567",
                                     user_email="jane@example.com", user_name="Jane Doe"),
                "TrackedOrderId": "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
                "PurchasedItems": {"Products": [{"product_id": "58", "unit_price": "45.5", "quantity": 2}],
                                   "OrderNumber": "1234"}}
    assert woo.tracker(envelope).status_code == 200
    again = woo.tracker(envelope)  # the thank-you page reloaded
    assert again.status_code == 200 and again.json()["duplicates"]
    customer = contact_of(platform, shop.account_id, "external_id", "15")
    assert [(p.product_id, p.price, p.quantity) for p in interactions_of(
        platform, shop.account_id, customer, PURCHASE)] == [("58", 45.5, 2.0)]
    ds = shop.datasource(algorithm="bestsellers")
    shop.train()
    assert shop.recommend_ids(ds)[0] == "58"
