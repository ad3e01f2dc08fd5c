"""The snippet and the site tracker (`/scripts/<site>.js`) without a browser: what the server answers, and
the scripts run under node with a minimal fake DOM (skipped where node is missing)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib.resources import files

import pytest

from recoms.services.snippet import js_value, snippet

SHOPIFY_INIT = re.compile(r"""eS\(\s*['"]init['"]\s*\)""")
TRACKER = files("recoms.static").joinpath("tracker.js").read_text()


def shopify_stored(html: str) -> str:
    """What the Shopify app keeps of /site/script (create-metafield.server.ts)."""
    return re.sub(r"\s+", " ", html.replace("\n", "")).strip()


# ---- the snippet -------------------------------------------------------------------------------------

def test_snippet_is_the_platform_loader_pointing_here():
    html = snippet("site_abc", "https://recoms.example.com/")
    assert "eS('init');" in html and len(SHOPIFY_INIT.findall(html)) == 1
    assert '"https://recoms.example.com/scripts/" + n + \'.js\'' in html
    assert "'script', \"site_abc\")" in html
    assert "//" not in html.replace("https://", "")  # no line comment to swallow the rest once newlines go
    assert html.count("<script>") == 2 and html.count("</script>") == 2


def test_snippet_quotes_hostile_values():
    html = snippet("</script><script>alert(1)</script>'\"\u2028&amp;", "https://x.test/</script>")
    assert html.count("</script>") == 2 and html.count("<script>") == 2
    assert "\u2028" not in html and "&amp;" not in html and "alert(1)</" not in html


# ---- the route ---------------------------------------------------------------------------------------

def test_site_script_embeds_the_site_and_account(client, shop):
    r = client.get(f"/scripts/{shop.site_id}.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    assert "max-age=" in r.headers["cache-control"]
    first = r.text.split("\n", 1)[0]
    config = json.loads(first.removeprefix("window.__recomsConfig = ").removesuffix(";"))
    assert config == {"siteId": shop.site_id, "orgId": shop.account_id}
    assert r.text.endswith(TRACKER)


@pytest.mark.parametrize("site", ["site_unknown", "</script>", "a'b\"c", "x" * 10_000, "%00", "a%0Ab", "..%2F..%2Fx"])
def test_unknown_or_hostile_site_is_404_and_not_reflected(client, site):
    r = client.get(f"/scripts/{site}.js")
    expected = 400 if site == "%00" else 404  # a NUL byte in any URL is refused before routing
    assert r.status_code == expected and r.headers["content-type"].startswith("application/problem+json")
    assert "</script>" not in r.text and "xxxxxxxxxx" not in r.text and "a'b" not in r.text


def test_plain_tracker_keeps_its_tag_mode(client):
    r = client.get("/tracker.js")
    assert r.status_code == 200 and "data-site-id" in r.text and "/api/v2/tracking" in r.text


def test_js_value_is_safe_in_html():
    assert js_value("</script><!--\u2028&") == '"\\u003c/script\\u003e\\u003c!--\\u2028\\u0026"'


# ---- under node --------------------------------------------------------------------------------------

# A page just big enough for the snippet and the tracker: cookies, localStorage, sendBeacon, a script tag.
FAKE_PAGE = r"""
const vm = require('vm');
const steps = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const jar = {}, store = {}, sent = [], inserted = [], appended = [];
function element(tag) {
  return {tagName: tag, attrs: {}, parentNode: null,
    setAttribute(k, v) { this.attrs[k] = String(v); },
    getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; },
    set href(v) {
      const u = new URL(v);
      Object.assign(this, {pathname: u.pathname, protocol: u.protocol, host: u.host});
    }};
}
const parent = {appendChild(e) { e.parentNode = this; appended.push(e); }, removeChild(e) { e.parentNode = null; },
                insertBefore(e) { inserted.push(e.src); }};
const w = globalThis;
w.window = w;
w.document = {
  readyState: 'complete', scripts: [{parentNode: parent}], body: parent, currentScript: null,
  get cookie() { return Object.keys(jar).map(k => k + '=' + jar[k]).join('; '); },
  set cookie(v) { const kv = v.split(';')[0], i = kv.indexOf('='); jar[kv.slice(0, i)] = kv.slice(i + 1); },
  createElement: element, querySelector() { return null; }, addEventListener() {},
  getElementById(id) { return appended.filter(e => e.id === id && e.parentNode).pop() || null; },
};
w.location = {protocol: 'https:', href: 'https://shop.test/p/1'};
w.localStorage = {getItem(k) { return k in store ? store[k] : null; }, setItem(k, v) { store[k] = String(v); }};
const beacon = (url, body) => { sent.push({url, body: JSON.parse(body)}); return true; };
Object.defineProperty(w, 'navigator', {value: {sendBeacon: beacon}});
w.addEventListener = function () {};
w.setTimeout = setTimeout;
for (const step of steps) {
  if (step.src) {
    w.document.currentScript = Object.assign(element('script'), {src: step.src, attrs: step.attrs || {}});
  }
  vm.runInThisContext(step.js);
  w.document.currentScript = null;
}
console.log(JSON.stringify({sent, inserted, cookie: jar.sc, esState: store.esState, esConfig: w._esConfig || null,
                            appended: appended.length, hasRecoms: typeof w.recoms}));
"""

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_page(*steps: dict) -> dict:
    out = subprocess.run([NODE, "-e", FAKE_PAGE], input=json.dumps(list(steps)), capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def scripts_of(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, re.S)


def site_tracker_js(site="site_1", org=7) -> dict:
    return {"js": f"window.__recomsConfig = {js_value({'siteId': site, 'orgId': org})};\n" + TRACKER,
            "src": f"https://recoms.test/base/scripts/{site}.js"}


@needs_node
def test_collapsed_snippet_loads_the_tracker_and_queues_calls():
    loader, init = scripts_of(shopify_stored(snippet("site_1", "https://recoms.test/base")))
    page = run_page({"js": loader}, {"js": init}, {"js": "eS('sendEvent', 'MainPage');"}, site_tracker_js())
    assert page["inserted"] == ["https://recoms.test/base/scripts/site_1.js"]
    [sent] = page["sent"]
    assert sent["url"] == "https://recoms.test/base/api/v2/tracking"
    info = sent["body"]["GeneralInfo"]
    assert sent["body"] == {"GeneralInfo": info} and info["eventName"] == "MainPage" and info["siteId"] == "site_1"
    assert info["cookies"] == {"sc": page["cookie"]} and isinstance(info["datetime"], int)
    assert json.loads(page["esState"]) == {"customerId": page["cookie"]}
    assert page["esConfig"] == {"siteId": "site_1", "orgId": 7} and page["appended"] >= 1


@needs_node
def test_queue_semantics_and_envelopes():
    shopify_stub = "window.eS = window.eS || function () { (window.eS.q = window.eS.q || []).push(arguments); };"
    page = run_page(
        {"js": "document.cookie = 'sc=CDA68358-94FB-4D83'; localStorage.setItem('esState', '{\"other\":1}');"},
        {"js": shopify_stub},
        {"js": "eS('init', {APP_INBOX: true}, {getAuthTokenCallback: function () { throw 1; }});"
               "eS('sendEvent', 'StatusCart', {StatusCart: [{productKey: 'A', price: '5', quantity: 1}], GUID: 'g1'});"
               "eS('getRecommendations', 1, function () {}); eS(); eS(42);"
               "eS('sendEvent', 'CustomerData', {CustomerData: {externalCustomerId: 42, user_email: 'a@b.c'}});"},
        site_tracker_js(),
        {"js": "eS('sendEvent', 'ProductPage', {ProductPage: {productKey: 'A', price: '5', isInStock: 1}});"
               "eS('sendEventWithTags', 'ProductImpressions', {ProductImpression: [{product_id: 'A'}]});"
               "recoms.track('PurchasedItems', {OrderNumber: '1', GUID: 'g1', Products: [{product_id: 'A'}]});"
               "eS('sendEvent', 'Broken', {toJSON: function () { throw new Error('x'); }});"
               "eS('sendEvent', 'AddToWishlist', {GeneralInfo: {s_location: 'r1', siteId: 'evil'}, "
               "AddToWishlist: {productKey: 'A'}});"
               "window.eS.q.push(['sendEvent', 'NotFound']);"},
    )
    bodies = [s["body"] for s in page["sent"]]
    names = [b["GeneralInfo"]["eventName"] for b in bodies]
    assert names == ["StatusCart", "CustomerData", "ProductPage", "ProductImpressions", "PurchasedItems",
                     "AddToWishlist", "NotFound"]
    assert page["cookie"] == "CDA68358-94FB-4D83"
    assert json.loads(page["esState"]) == {"other": 1, "customerId": "CDA68358-94FB-4D83"}
    cart, customer, product, impressions, order, wish, _ = bodies
    assert cart["StatusCart"] == [{"productKey": "A", "price": "5", "quantity": 1}] and cart["GUID"] == "g1"
    assert "externalCustomerId" not in cart["GeneralInfo"]
    assert customer["GeneralInfo"]["externalCustomerId"] == 42
    assert product["GeneralInfo"]["user_email"] == "a@b.c" and product["ProductPage"]["productKey"] == "A"
    assert impressions["ProductImpression"] == [{"product_id": "A"}]
    assert order["PurchasedItems"] == {"OrderNumber": "1", "GUID": "g1", "Products": [{"product_id": "A"}]}
    assert wish["GeneralInfo"]["s_location"] == "r1" and wish["GeneralInfo"]["siteId"] == "site_1"


@needs_node
def test_tag_mode_reads_its_attributes():
    page = run_page({"js": TRACKER, "src": "https://recoms.test/tracker.js", "attrs": {"data-site-id": "site_9"}},
                    {"js": "recoms.identify({user_email: 'z@z.z'}); recoms.track('ProductPage', {productKey: 'P'});"
                           "recoms.track('MainPage');"})
    identify, product, main = (s["body"] for s in page["sent"])
    assert page["sent"][0]["url"] == "https://recoms.test/api/v2/tracking"
    assert identify["CustomerData"] == {"user_email": "z@z.z"} and identify["GeneralInfo"]["user_email"] == "z@z.z"
    assert product["ProductPage"] == {"productKey": "P"} and product["GeneralInfo"]["siteId"] == "site_9"
    assert list(main) == ["GeneralInfo"]
    assert len(page["cookie"]) == 32 and page["hasRecoms"] == "object"
