"""The storefront scripts of the platform's integrations, run in headless Chromium on a shop page with
recoms' snippet, deliver their events: a viewed product shows in that visitor's recently_viewed at the
next request.

Each test serves a page from a "shop" on http://localhost:<port> that loads recoms' tracker from
http://127.0.0.1:<port> (another origin), lets the integration's own script (read from its mirror, never
copied here) call `eS(...)`, waits until recoms has stored the events, then does what the shop's server
would: a contact token for the visitor's `sc` cookie and a recently_viewed request with it.
Run with -s to see the envelopes the browser sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from recoms.services.platform import Platform, build_platform
from recoms.services.snippet import snippet
from tests.compat.browser import CHROMIUM, StaticShop, Visit, chromium, live_recoms, mirror_file, static_shop
from tests.conftest import Shop, make_settings
from tests.feeds import gmc_xml

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

SHOPIFY_VARIANT = "44012345678901"
PRODUCTS = [{"id": pid, "price": 20.0, "category": "Clothing > Hoodies"}
            for pid in (SHOPIFY_VARIANT, "57", "42", "A", "B", "C")]


@dataclass
class Stack:
    recoms_url: str
    shop_server: StaticShop
    browser: Any
    api: httpx.Client
    platform: Platform


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("storefront")
    platform = build_platform(make_settings(f"sqlite:///{tmp / 'recoms.db'}", tmp))
    try:
        with live_recoms(platform) as url, static_shop() as shop_server, chromium() as browser, \
                httpx.Client(base_url=url, timeout=10) as api:
            yield Stack(url, shop_server, browser, api, platform)
    finally:
        platform.close()


@dataclass
class Tenant:
    shop: Shop
    recently_viewed: int


@pytest.fixture
def tenant(stack) -> Tenant:
    """An account with a small catalog, trained once, and a recently_viewed data source (no fallback)."""
    shop = Shop(stack.api, stack.platform)
    shop.feed(gmc_xml(PRODUCTS))
    shop.train()  # a first snapshot, before any event: serving answers [] for an account never trained
    return Tenant(shop, shop.datasource(algorithm="recently_viewed", size=10, fallback=[]))


@pytest.fixture
def visit(stack) -> Iterator[Visit]:
    context = stack.browser.new_context()
    try:
        yield Visit(context, stack.recoms_url + "/api/v2/tracking")
    finally:
        context.close()


def stored_views(visit: Visit, tenant: Tenant, sc: str, products: set[str]) -> list[dict]:
    """Wait until recoms holds the visitor's views of these products; its events, newest first."""
    shop = tenant.shop

    def events() -> list[dict] | None:
        found = shop.client.get("/api/v1/contacts", params={"cookie": sc}, headers=shop.auth)
        if found.status_code != 200:
            return None
        rows = shop.client.get(f"/api/v1/contacts/{found.json()['id']}/events", headers=shop.auth).json()
        stored = " ".join(json.dumps(r["payload"]) for r in rows if r["type"] == "ProductPage")  # raw envelopes
        return rows if all(f'"productKey": "{p}"' in stored for p in products) else None

    return visit.wait_for(events, f"recoms to store views of {sorted(products)} for sc={sc}")


def recently_viewed(tenant: Tenant, sc: str) -> list[str]:
    """What the shop's server gets for this visitor: a token for the sc cookie, then the data source."""
    r = tenant.shop.recoms(tenant.recently_viewed, token=tenant.shop.token(cookie=sc))
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()]


def check_clean(visit: Visit, client: str, origin: str) -> None:
    """Every envelope was answered 200, with CORS headers where the browser reads the answer (a fetch;
    a beacon is a no-cors request whose headers Playwright does not see), and the page logged no error."""
    for body in visit.sent:
        print(f"\n{client} sent: {json.dumps(body)}")
    assert visit.sent, "the browser sent nothing to recoms"
    assert visit.problems() == []
    visit.wait_for(lambda: len(visit.responses) >= len(visit.sent), "recoms to answer every envelope")
    for response in visit.responses:
        assert response.status == 200, response.text()
        if response.request.resource_type != "ping":
            assert response.all_headers().get("access-control-allow-origin") in ("*", origin)


def page(*parts: str, head: str = "") -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>shop</title>{head}</head><body>" + \
        "".join(parts) + "</body></html>"


def shopify_stored(html: str) -> str:
    """What the Shopify app keeps of /site/script (create-metafield.server.ts)."""
    return re.sub(r"\s+", " ", html.replace("\n", "")).strip()


# ---- Shopify: the theme block in <head> and the app's web-tracking.js --------------------------------

def shopify_page(stack: Stack, tenant: Tenant, data: dict, body: str = "") -> str:
    """The theme block's output in <head>: the stored snippet, the page-data island, web-tracking.js."""
    data = {"host": stack.shop_server.url, "domain": "localhost", "product": None, "currentVariant": None,
            "language": "en", "collection": None, "customer": None, **data}
    head = (shopify_stored(snippet(tenant.shop.site_id, stack.recoms_url))
            + f'<script id="yespo_data" type="application/json">{json.dumps(data)}</script>'
            + '<script src="/assets/web-tracking.js" defer></script>')
    return page(body, head=head)


def test_shopify_product_then_cart_page(stack, tenant, visit):
    tracking_js = mirror_file("Yespo-CDP/yespo-shopify", "extensions/yespo-extension/assets/web-tracking.js")
    shop_server = stack.shop_server
    shop_server.page("/assets/web-tracking.js", tracking_js, "application/javascript")
    variant = {"id": int(SHOPIFY_VARIANT), "title": "M", "price": 1999, "available": True}
    customer = {"id": 7421234567890, "email": "jane@example.com", "firstName": "Jane", "lastName": "Doe",
                "phone": None}
    product_page = shopify_page(
        stack, tenant, {"pageTemplate": "product", "product": {"id": 8123456789, "title": "Hoodie",
                        "variants": [variant]}, "currentVariant": variant, "customer": customer},
        f'<form action="/cart/add"><input type="hidden" name="id" value="{SHOPIFY_VARIANT}"></form>')
    visit.open(shop_server.page("/products/hoodie", product_page))

    sc = visit.wait_for(visit.sc, "the sc cookie")
    stored_views(visit, tenant, sc, {SHOPIFY_VARIANT})
    assert SHOPIFY_VARIANT in recently_viewed(tenant, sc)
    [product, *_] = visit.events("ProductPage")
    assert product["ProductPage"] == {"productKey": SHOPIFY_VARIANT, "price": "19.99", "isInStock": 1}
    assert product["GeneralInfo"]["externalCustomerId"] == "7421234567890"  # from the CustomerData before it

    # The app's backend gets the visitor's sc with the cart token on every page, for its server-side cart
    # and order events. web-tracking.js (defer) reads the cookie before the async tracker may have set it,
    # so on a visitor's very first page it can be empty (as with the platform's own tracker); from the
    # next page on it is there.
    def backend_posts(count: int):
        def posts() -> list:
            found = shop_server.posted("/public/event-data")
            return found if len(found) >= count else []
        return posts

    visit.wait_for(backend_posts(1), "the product page's post to the app's backend")
    visit.open(shop_server.page("/cart", shopify_page(stack, tenant, {"pageTemplate": "cart",
                                                                      "customer": customer})))
    visit.wait_for(lambda: visit.events("StatusCartPage"), "StatusCartPage")
    posts = visit.wait_for(backend_posts(2), "the cart page's post to the app's backend")
    for posted in posts:
        print(f"\nshopify posted to its app: {posted.body.decode()}")
    assert json.loads(posts[-1].body)["sc"] == sc
    check_clean(visit, "shopify", stack.shop_server.url)


# ---- WooCommerce: the footer snippet, trackingData and the plugin's plugin-public.js -------------------

def test_woocommerce_product_page(stack, tenant, visit):
    plugin_js = mirror_file("Yespo-CDP/yespo-woocommerce", "assets/build/plugin-public.js")
    shop_server = stack.shop_server
    shop_server.page("/wp-content/plugins/yespo-cdp/assets/build/plugin-public.js", plugin_js,
                     "application/javascript")
    ajax = "/wp-admin/admin-ajax.php"
    tracking_data = {"ajaxUrl": shop_server.url + ajax, "getCartContentNonce": "a1b2c3d4e5",
                     "product": {"id": "57", "price": "45", "stock": "1"}, "tenantWebId": "f6e5d4c3b2"}
    # WordPress pages carry jQuery; the plugin binds a cart event with it, so a stub stands in.
    head = "<script>window.jQuery = function () { return {on: function () {}}; };</script>"
    footer = (snippet(tenant.shop.site_id, stack.recoms_url)
              + f"<script>var trackingData = {json.dumps(tracking_data)};</script>"
              + '<script src="/wp-content/plugins/yespo-cdp/assets/build/plugin-public.js"></script>')
    visit.open(shop_server.page("/product/hoodie/", page("<h1>Hoodie</h1>", footer, head=head)))

    sc = visit.wait_for(visit.sc, "the sc cookie")
    stored_views(visit, tenant, sc, {"57"})
    assert "57" in recently_viewed(tenant, sc)
    # The plugin found window._esConfig (after the DOM changed) and told WordPress the visitor and org.
    saved = visit.wait_for(lambda: [p for p in shop_server.posted(ajax) if b"action=save_webid" in p.body],
                           "the plugin's save_webid post")
    form = {k: v[0] for k, v in parse_qs(saved[0].body.decode()).items()}
    assert form["webId"] == sc and form["orgId"] == str(tenant.shop.account_id)
    print(f"\nwoocommerce posted to WordPress: {saved[0].body.decode()}")
    check_clean(visit, "woocommerce", stack.shop_server.url)


# ---- OpenCart: the snippet after <body>, the module's inline calls -----------------------------------

def test_opencart_home_then_product_page(stack, tenant, visit):
    shop_server = stack.shop_server
    top = snippet(tenant.shop.site_id, stack.recoms_url)
    main_page = ("<script>document.addEventListener('DOMContentLoaded', function() {if (typeof eS === 'function') "
                 "{ eS('sendEvent', 'MainPage'); }})</script>")
    product_event = ("<script>\nif (typeof eS !== 'undefined') {\n\tproduct_page_event = "
                     '{"ProductPage":{"productKey":"42","price":"122","isInStock":1}};\n'
                     "\teS('sendEvent', 'ProductPage', product_page_event);\n}\n</script>")
    visit.open(shop_server.page("/", page(top, main_page, "<h1>Home</h1>")))
    visit.wait_for(lambda: visit.events("MainPage"), "MainPage")
    visit.open(shop_server.page("/index.php", page(top, "<h1>iPhone</h1>", product_event)))

    sc = visit.wait_for(visit.sc, "the sc cookie")
    stored_views(visit, tenant, sc, {"42"})
    assert "42" in recently_viewed(tenant, sc)
    assert {e["GeneralInfo"]["cookies"]["sc"] for e in visit.sent} == {sc}  # one visitor across pages
    check_clean(visit, "opencart", stack.shop_server.url)


# ---- recoms' own forms: queued calls, the browser StatusCart, identifiers, recoms.track -------------

OWN_CALLS = """<script>
eS('sendEvent', 'StatusCart', {StatusCart: [{productKey: 'A', price: '5', quantity: 1}], GUID: 'g1'});
eS('sendEvent', 'CustomerData', {CustomerData: {externalCustomerId: 'cust-1', user_email: 'd@shop.test'}});
eS('sendEvent', 'ProductPage', {ProductPage: {productKey: 'B', price: '7', isInStock: 1}});
window.addEventListener('load', function () {
  recoms.track('ProductPage', {productKey: 'A', price: 5, isInStock: 1});
});
</script>"""


def test_queued_calls_and_recoms_track(stack, tenant, visit):
    top = snippet(tenant.shop.site_id, stack.recoms_url)
    visit.open(stack.shop_server.page("/own", page(top, OWN_CALLS)))

    sc = visit.wait_for(visit.sc, "the sc cookie")
    stored_views(visit, tenant, sc, {"A", "B"})
    assert recently_viewed(tenant, sc)[:2] == ["A", "B"]
    cart, customer, viewed_b, viewed_a = visit.sent
    assert cart["StatusCart"][0]["productKey"] == "A" and cart["GUID"] == "g1"
    assert "externalCustomerId" not in cart["GeneralInfo"]
    assert customer["GeneralInfo"]["externalCustomerId"] == "cust-1"
    for later in (viewed_b, viewed_a):
        assert later["GeneralInfo"]["externalCustomerId"] == "cust-1"
        assert later["GeneralInfo"]["user_email"] == "d@shop.test"
    assert viewed_a["ProductPage"] == {"productKey": "A", "price": 5, "isInStock": 1}
    check_clean(visit, "own", stack.shop_server.url)


def test_without_beacons_fetch_passes_cors(stack, tenant, visit):
    """Where sendBeacon is missing or refuses, the tracker falls back to a CORS fetch."""
    head = "<script>Object.defineProperty(Navigator.prototype, 'sendBeacon', {value: undefined});</script>"
    calls = "<script>eS('sendEvent', 'ProductPage', {ProductPage: {productKey: 'C', price: '3'}});</script>"
    visit.open(stack.shop_server.page("/no-beacon", page(snippet(tenant.shop.site_id, stack.recoms_url), calls,
                                                         head=head)))
    sc = visit.wait_for(visit.sc, "the sc cookie")
    stored_views(visit, tenant, sc, {"C"})
    assert recently_viewed(tenant, sc) == ["C"]
    check_clean(visit, "fetch", stack.shop_server.url)
    assert all(r.request.resource_type == "fetch" for r in visit.responses)
