"""The OpenCart modules (eSputnik-CDP/esputnik-opencart and Yespo-CDP/yespo-opencart: one code base under
two names) against recoms: every call of their `esputnik_http`/`yespo_http` client, built as it builds them
(libcurl: `CURLOPT_USERPWD = "user:" . key`, `Accept` and `Content-Type: application/json; charset=UTF-8`
on every method, `json_encode` with no flags, DELETE parameters in the query string, tracker calls with
no auth and the shopper's User-Agent), asserting what the module reads back and the effect. The
storefront calls (`eS('sendEvent', ...)`) run in Chromium in test_storefront_browser.py.
"""

from __future__ import annotations

import time

import pytest

from tests.compat.wire import (
    CART,
    PURCHASE,
    WISHLIST,
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

SC = "sc-cookie-value-123"
# The two modules differ only in these names (service worker file, telemetry host).
MODULES = {"esputnik": "sw-esputnik.js", "yespo": "sw-yespo.js"}


class OpenCartModule:
    def __init__(self, shop, name: str) -> None:
        self.shop, self.client, self.name = shop, shop.client, name

    def request_json(self, method: str, path: str, payload=None, key: str | None = None):
        """requestJson(): JSON headers on every method; the payload in the body (POST) or the query."""
        headers = {"Accept": "application/json; charset=UTF-8", "Content-Type": "application/json; charset=UTF-8"}
        if key != "":
            headers["Authorization"] = basic("user", key or self.shop.key)
        if method == "POST":
            return self.client.post(path, content=php_json(payload) if payload else None, headers=headers)
        return self.client.request(method, path, params=payload or None, headers=headers)

    def request_raw(self, path: str, params=None):
        """requestRaw(): only `Accept: text/plain; charset=UTF-8`."""
        return self.client.get(path, params=params, headers={
            "Accept": "text/plain; charset=UTF-8", "Authorization": basic("user", self.shop.key)})

    def track(self, body: dict):
        """trackEvent(): the tracker, no Authorization, the shopper's User-Agent forwarded."""
        return self.client.post("/api/v2", content=php_json(body), headers={
            "Accept": "application/json; charset=UTF-8", "Content-Type": "application/json; charset=UTF-8",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"})

    def info(self, event: str, **identity) -> dict:
        return {"eventName": event, **identity, "siteId": self.shop.site_id, "datetime": int(time.time() * 1000),
                "cookies": {"sc": SC}}


@pytest.fixture(params=sorted(MODULES))
def module(request, shop) -> OpenCartModule:
    shop.feed(gmc_xml([{"id": pid, "price": 100.0, "category": "Desktops"} for pid in ("30", "42", "43")]))
    return OpenCartModule(shop, request.param)


def test_a1_check_api_key_needs_a_non_zero_org_id(module, shop):
    response = module.request_json("GET", "/api/v1/account/info").json()
    assert response["orgId"] and response["organisationName"]  # checkApiKey(): !empty($r['orgId'])
    for key in ("http_code", "raw_response", "error"):  # would overwrite the module's own result fields
        assert key not in response
    refused = module.request_json("GET", "/api/v1/account/info", key="rk_wrong")
    assert refused.status_code == 401 and not refused.json().get("orgId")


def test_a2_a3_site_and_snippet(module, shop):
    r = module.request_json("POST", "/api/v1/site/domains", {"domain": domain_of(shop)})
    assert r.status_code in (200, 201) and r.json()["siteId"] == shop.site_id
    script = module.request_raw("/api/v1/site/script", {"domain": domain_of(shop)})
    assert script.status_code == 200 and script.text
    assert "eS('init');" in script.text  # the App Inbox switch str_replace()s exactly this
    assert module.request_raw("/api/v1/site/script").status_code == 200  # legacy: no ?domain=


def test_a4_a5_web_push_setup_is_exactly_200(module):
    r = module.request_json("POST", "/api/v1/site/webpush/domain", {
        "domain": "shop.example.com", "serviceWorkerName": MODULES[module.name], "serviceWorkerPath": "/",
        "serviceWorkerScope": "/"})
    assert r.status_code == 200
    script = module.request_json("GET", "/api/v1/site/webpush/script", {"domain": "shop.example.com"})
    assert script.status_code == 200 and script.json()["script"]


CUSTOMERS = [
    {"externalCustomerId": "42", "email": "olena@example.com", "firstName": "Олена", "lastName": "O'Brien",
     "phone": "380671234567", "channels": [{"type": "email", "value": "olena@example.com"},
                                           {"type": "sms", "value": "380671234567"}]},
    {"externalCustomerId": "43", "email": "john@example.com", "firstName": "John", "lastName": "Doe", "phone": "",
     "channels": [{"type": "email", "value": "john@example.com"}, {"type": "sms", "value": ""}]},
]


def test_a6_bulk_contacts_answer_with_an_id(module, shop, platform):
    r = module.request_json("POST", "/api/v1/contacts", {"contacts": CUSTOMERS, "dedupeOn": "externalCustomerId"})
    assert r.json()["id"] is not None and r.json()["failedContacts"] == []  # loadCustomers(): isset($r['id'])
    assert identifiers(platform, shop.account_id, contact_of(platform, shop.account_id, "external_id", "43")) == {
        "external_id": "43", "email": "john@example.com"}


def _order(**money) -> dict:
    return {"externalOrderId": "1001", "totalCost": money.get("total", 245.99), "status": "IN_PROGRESS",
            "date": "2024-06-01T14:03:22Z", "currency": "USD", "email": "olena@example.com", "phone": "380671234567",
            "firstName": "Олена", "lastName": "O'Brien", "deliveryMethod": "Flat Shipping Rate",
            "paymentMethod": "Cash On Delivery", "items": [
                {"externalItemId": "42", "name": 'Apple Cinema 30"', "quantity": 2, "cost": money.get("a", 100)},
                {"externalItemId": "30", "name": "Canon EOS 5D", "quantity": 1, "cost": money.get("b", 45.99)}],
            "externalCustomerId": "42"}


def test_a7_b2_orders_bulk_then_on_every_status_change(module, shop, platform):
    r = module.request_json("POST", "/api/v1/orders", {"orders": [_order()]})
    assert r.status_code == 200  # loadOrders(): exactly 200
    customer = contact_of(platform, shop.account_id, "external_id", "42")
    bought = interactions_of(platform, shop.account_id, customer, PURCHASE)
    assert sorted((b.product_id, b.quantity, b.price) for b in bought) == [("30", 1.0, 45.99), ("42", 2.0, 100.0)]
    # processOrder(): the same order again, money as strings, items with url and imageUrl, new status.
    live = _order(total="245.99", a="100", b="45.99")
    live["status"] = "DELIVERED"
    for item in live["items"]:
        item.update(url="https://shop.example.com/index.php?route=product/product&product_id=42",
                    imageUrl="https://shop.example.com/image/cache/catalog/demo/x-200x200.jpg")
    again = module.request_json("POST", "/api/v1/orders", {"orders": [live]})
    assert again.status_code == 200 and not again.text  # no failedOrders
    assert order(platform, shop.account_id, "1001").status == "delivered"
    assert len(interactions_of(platform, shop.account_id, customer, PURCHASE)) == 2


def test_a8_b1_a9_customer_add_edit_delete(module, shop, platform):
    body = {"externalCustomerId": "42", "firstName": "Олена", "lastName": "O'Brien", "channels": [
        {"type": "email", "value": "olena@example.com"}, {"type": "sms", "value": "380671234567"}]}
    assert module.request_json("POST", "/api/v1/contact", body).status_code < 400  # sendCustomer(): < 400
    customer = contact_of(platform, shop.account_id, "external_id", "42")
    assert attributes(platform, shop.account_id, customer) == {"firstName": "Олена", "lastName": "O'Brien"}
    # deleteCustomer(): ['externalCustomerId' => (int)$id, 'erase' => true] through http_build_query.
    r = module.request_json("DELETE", "/api/v1/contact", {"externalCustomerId": 42, "erase": 1})
    assert r.status_code == 200 and contact_of(platform, shop.account_id, "external_id", "42") is None


def test_b3_app_inbox_token_by_extid(module, shop):
    r = module.request_json("POST", "/api/v1/auth/contact/token",
                            {"extid": "42", "email": "olena@example.com", "phone": "380671234567"})
    assert r.json()["token"]
    ds = shop.datasource(algorithm="bestsellers")
    assert shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": r.json()["token"]}).status_code == 200


def test_c1_c2_cart_and_wishlist_from_the_server(module, shop, platform):
    cart = {"GeneralInfo": module.info("StatusCart"), "StatusCart": {"GUID": "665b3a2f9c1e4", "Products": [
        {"productKey": "42", "price": "100", "quantity": 2, "price_currency_code": "USD"},
        {"productKey": "30", "price": "45.99", "quantity": 1, "price_currency_code": "USD"}]}}
    assert module.track(cart).status_code == 200
    visitor = contact_of(platform, shop.account_id, "cookie", SC)
    assert cart_of(platform, shop.account_id, visitor) == ["42", "30"]
    assert {c.product_id for c in interactions_of(platform, shop.account_id, visitor, CART)} == {"42", "30"}
    for in_stock in ("1", ""):  # (string)(quantity > 0): never "0"
        wish = {"GeneralInfo": module.info("AddToWishlist"),
                "AddToWishlist": {"Product": {"productKey": "43", "price": "122", "isInStock": in_stock}}}
        r = module.track(wish)
        assert r.status_code == 200 and r.json()["accepted"] == 1
    assert [w.product_id for w in interactions_of(platform, shop.account_id, visitor, WISHLIST)] == ["43", "43"]
    # Emptied after a remove, and the session had no sc cookie: an anonymous cart.
    anonymous = {"GeneralInfo": {k: v for k, v in module.info("StatusCart").items() if k != "cookies"},
                 "StatusCart": {"GUID": "665b3a2f9c1e5", "Products": []}}
    r = module.track(anonymous)
    assert r.status_code == 200 and r.json()["anonymous"]


def test_c3_c4_customer_data_then_purchase(module, shop, platform):
    module.track({"GeneralInfo": module.info("StatusCart"), "StatusCart": {"GUID": "g", "Products": [
        {"productKey": "42", "price": "100", "quantity": 1, "price_currency_code": "USD"}]}})
    logged_in = module.info("CustomerData", externalCustomerId=42, user_email="olena@example.com",
                            user_name="Олена O'Brien", user_phone="380671234567")
    assert module.track({"GeneralInfo": logged_in}).status_code == 200
    customer = contact_of(platform, shop.account_id, "external_id", "42")
    assert contact_of(platform, shop.account_id, "cookie", SC) == customer
    assert cart_of(platform, shop.account_id, customer) == ["42"]  # the visitor's cart is the customer's
    registering = {"eventName": "CustomerData", "siteId": shop.site_id, "datetime": int(time.time() * 1000)}
    assert module.track({"GeneralInfo": registering}).status_code == 200  # nothing to link: still accepted
    purchase = {"GeneralInfo": module.info("PurchasedItems"), "PurchasedItems": {
        "OrderNumber": "1001", "GUID": "g", "TrackedOrderId": "665b3b10a2f3c", "Products": [
            {"product_id": "42", "unit_price": "100", "quantity": 2}, {"product_id": "30", "unit_price": "45.99",
                                                                      "quantity": 1}]}}
    assert module.track(purchase).status_code == 200
    assert order(platform, shop.account_id, "1001").contact_id == customer
    assert cart_of(platform, shop.account_id, customer) == []  # bought: the cart is empty again
    ds = shop.datasource(algorithm="also_bought")
    shop.train()
    assert shop.recommend_ids(ds, products="42")[:1] == ["30"]


def test_d_telemetry_is_accepted_and_dropped(module, shop):
    log = {"orgId": shop.account_id, "typeCMS": "OpenCart", "errorMessage": "",
           "data": '{"domain":"shop.example.com"}', "message": "ADD_API_KEY_SUCCESS", "log_level": "INFO"}
    r = shop.client.post("/logs/v1/plugin", content=php_json(log), headers={
        "Accept": "application/json; charset=UTF-8", "Content-Type": "application/json; charset=UTF-8"})
    assert r.status_code == 200
