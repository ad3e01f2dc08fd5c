"""The web pages recoms serves, in headless Chromium (Debian's, driven by Playwright): the API docs with
every request outside recoms blocked, the console (sign in, find an id, create a data source with a rule
and watch its preview change, add a variant, read the analytics charts), and the demo storefront (view a
product, see alternatives, click one, and find the impression and the click counted in the console).

RECOMS_SCREENSHOTS=/some/dir saves a PNG of each page visited.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from recoms.demo import load_demo
from recoms.domain import attribution
from recoms.services.platform import Platform, build_platform
from tests.compat.browser import CHROMIUM, chromium, live_recoms, wait_for
from tests.conftest import Shop, envelope, make_settings
from tests.feeds import gmc_xml

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

SHOTS = os.environ.get("RECOMS_SCREENSHOTS")
DAY = 86_400_000


@dataclass
class Stack:
    url: str
    browser: Any
    api: httpx.Client
    platform: Platform
    settings: Any


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("console")
    settings = make_settings(f"sqlite:///{tmp / 'recoms.db'}", tmp, demo_shop=True,
                             recommendation_log_flush_seconds=0.2)
    platform = build_platform(settings)
    try:
        with live_recoms(platform) as url, chromium() as browser, httpx.Client(base_url=url, timeout=20) as api:
            yield Stack(url, browser, api, platform, settings)
    finally:
        platform.close()


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def context(stack) -> Iterator[Any]:
    # The console's CSP allows no eval, which Playwright's wait_for_function needs (the CSP is checked in
    # tests/api/test_console.py).
    ctx = stack.browser.new_context(viewport={"width": 1360, "height": 900}, bypass_csp=True)
    try:
        yield ctx
    finally:
        ctx.close()


def only_recoms(ctx: Any, origin: str) -> list[str]:
    """Abort every request that is not to recoms; the list fills with what the pages tried."""
    blocked: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(origin) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    return blocked


def test_the_api_docs_render_with_only_recoms_reachable(stack, context):
    blocked = only_recoms(context, stack.url)
    failed: list[str] = []
    page = context.new_page()
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(stack.url + "/docs", wait_until="load")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 20  # every operation, rendered
    assert page.locator(".opblock-summary-path", has_text="/api/v1/auth/contact/token").count() >= 1
    shot(page, "docs")
    page.goto(stack.url + "/redoc", wait_until="load")  # leads to the same page
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.url.endswith("/docs")
    assert blocked == [] and failed == []


def sign_in(page: Any, stack: Stack, key: str) -> None:
    page.goto(stack.url + "/console", wait_until="load")
    assert page.url.endswith("/console/sign-in")
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/datasources")


def seed_catalog(stack: Stack) -> Shop:
    shop = Shop(stack.api, stack.platform)
    image = stack.url + "/demo/shop/img/{}.svg"
    shop.feed(gmc_xml([{"id": f"P{i}", "name": f"Lamp {i}", "price": 20.0 + i, "brand": ("Acme", "Volt")[i % 2],
                        "category": "Home > Lamps", "tags": {"image_link": image.format(f"P{i}")}}
                       for i in range(1, 13)]))
    shop.events([envelope("ProductPage", {"productKey": f"P{i}"}, sc=f"s{i}-{n}")
                 for i in range(1, 13) for n in range(13 - i)])
    shop.train()
    return shop


def test_the_console(stack, context):
    shop = seed_catalog(stack)
    existing = shop.datasource(algorithm="bestsellers", name="Top sellers", size=4)
    requested: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requested.append(r.url + " " + (r.post_data or "")[:0]))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Sign in; the key goes in the form's body only.
    sign_in(page, stack, shop.key)
    assert all(shop.key not in url for url in requested)
    cookie = next(c for c in context.cookies() if c["name"] == "recoms_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != shop.key

    # Find a data source's id.
    row = page.locator("tr[data-name='Top sellers']")
    assert row.locator(".ds-id").inner_text() == str(existing)
    row.locator("button.copy").click()
    row.locator("button.copy", has_text="Copied").wait_for(timeout=5000)  # once the clipboard's promise settles
    shot(page, "console-datasources")

    # Create one with a rule through the form; the preview follows the form.
    page.click("#new-datasource")
    page.wait_for_selector("#ds-form")
    page.fill("#f-name", "Lamps, no Volt")
    page.select_option("#f-algorithm", "bestsellers")
    page.fill("#f-size", "6")
    page.fill("#p-products", "P1")

    def previewed() -> list[str]:
        page.wait_for_function("document.querySelector('#preview-list').children.length > 0")
        return page.locator("#preview-list li").evaluate_all("els => els.map(e => e.dataset.product)")

    page.wait_for_function("document.querySelector('#preview-list').children.length > 0", timeout=15_000)
    before = previewed()
    assert "P2" in before and len(before) == 6  # P2 (Volt) sells well
    answered = page.get_attribute("#preview-list", "data-answer")
    page.click("#add-rule")
    rule = page.locator("#rule-rows .rule").first
    rule.locator(".r-type").select_option("do_not_show")
    rule.locator(".r-field").fill("brand")
    rule.locator(".r-values").fill("Volt")
    page.wait_for_function(f"document.querySelector('#preview-list').dataset.answer !== '{answered}'"
                           " && !document.querySelector('#preview-status').textContent.includes('asking')")
    page.wait_for_timeout(600)  # the last keystroke's preview
    after = previewed()
    assert after and all(int(p[1:]) % 2 == 0 for p in after), after  # no Volt (odd ids) left
    assert page.locator("#preview-list img").count() == len(after)
    shot(page, "console-new-datasource")

    # A bad value is shown at its field; nothing is saved.
    page.fill("#f-size", "0")
    page.click("#save")
    page.wait_for_selector("[data-field='size'] .field-error")
    assert "1 to 100" in page.inner_text("[data-field='size'] .field-error")
    page.fill("#f-size", "6")
    page.click("#save")
    page.wait_for_url("**/console/datasources/*?saved=1")
    ds_id = int(page.inner_text("#ds-id"))
    saved = shop.client.get(f"/api/v1/datasources/{ds_id}", headers=shop.auth).json()
    assert saved["rules"] == [{"type": "do_not_show", "field": "brand", "op": "eq", "values": ["Volt"]}]
    assert saved["size"] == 6 and saved["name"] == "Lamps, no Volt"

    # Add a variant.
    page.click("#add-variant")
    variant = page.locator("#variant-rows .variant").first
    variant.locator(".v-name").fill("Newest")
    variant.locator(".v-share").fill("50")
    variant.locator(".v-algorithm").select_option("new_arrivals")
    page.click("#save")
    page.wait_for_url("**/console/datasources/*?saved=1")
    page.wait_for_selector("#experiment")
    saved = shop.client.get(f"/api/v1/datasources/{ds_id}", headers=shop.auth).json()
    assert saved["variants"] == [{"id": 1, "name": "Newest", "share": 50, "algorithm": "new_arrivals"}]
    assert page.locator("#variant-rows .variant").count() == 1
    shot(page, "console-edit-datasource")

    # Traffic on both variants, then the analytics page draws it.
    now = int(time.time() * 1000)
    events = []
    for day in range(6):
        for variant_id, clicks in ((0, 1), (1, 3)):
            rid = attribution.format_id(ds_id, variant_id, 1000 + day * 10 + variant_id)
            ts = now - (day + 1) * DAY
            sc = f"fan-{variant_id}-{day}"
            events.append(envelope("ProductImpressions", {"recommendationId": rid, "Products": [
                {"product_id": f"P{i}"} for i in range(2, 12, 2)]}, sc=sc, ts=ts))
            events += [envelope("ProductPage", {"productKey": f"P{2 * (c + 1)}", "recommendationId": rid}, sc=sc,
                                ts=ts + 1000) for c in range(clicks)]
            events.append(envelope("PurchasedItems", {"OrderNumber": f"O{day}-{variant_id}", "Products": [
                {"product_id": "P2", "unit_price": 22.0}]}, sc=sc, ts=ts + 5000))
    shop.events(events)
    page.click("#to-analytics")
    page.wait_for_selector("svg[data-chart='traffic']")
    assert page.locator("svg[data-chart='traffic'] path.series").count() >= 2
    assert page.locator("svg[data-chart='ctr'] circle.point").count() >= 6
    assert page.locator("svg[data-chart='revenue'] path.series").count() >= 1
    assert page.locator("svg[data-chart='variants-ctr'] rect.bar").count() == 2
    assert page.locator("svg[data-chart='variants-ctr'] path.whisker").count() == 2
    assert page.inner_text("#total-impressions") == "60" and page.inner_text("#total-clicks") == "24"
    assert page.inner_text("#total-orders") == "12"
    shot(page, "console-analytics")
    page.click("text=Analytics")  # the shop-wide page
    page.wait_for_selector("#share")
    shot(page, "console-revenue")
    page.click("text=Feeds")
    page.wait_for_selector("#feeds")
    shot(page, "console-feeds")
    page.click("text=Training")
    page.wait_for_selector("#snapshot")
    shot(page, "console-training")
    assert errors == []

    # Signed out, the pages and the JSON routes are closed.
    page.click("text=Sign out")
    page.wait_for_url("**/console/sign-in")
    page.goto(stack.url + f"/console/datasources/{ds_id}")
    assert page.url.endswith("/console/sign-in")


def settled(read: Any, quiet: float = 1.0, timeout: float = 15.0) -> Any:
    """`read()` once it has stopped changing for `quiet` seconds."""
    last, since, deadline = read(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.2)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_the_demo_storefront_counts_what_the_visitor_saw_and_clicked(stack, context):
    info = load_demo(stack.settings, echo=lambda _s: None, ab_visitors=40,
                     sizes={"n_products": 600, "n_contacts": 40, "n_events": 2500})
    similar = info["datasources"]["similar"]
    out_of_stock = info["samples"]["products"]["out_of_stock"]
    auth = {"Authorization": "Basic " + __import__("base64").b64encode(f"demo:{info['api_key']}".encode()).decode()}

    def totals() -> dict:
        r = stack.api.get(f"/api/v1/analytics/datasources/{similar}", headers=auth)
        assert r.status_code == 200, r.text
        return r.json()["totals"]

    before = totals()
    assert before["impressions"] > 0 and before["clicks"] > 0  # the simulated weeks
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stack.url + "/demo/shop", wait_until="load")
    page.wait_for_selector("#personal[data-loaded]", timeout=20_000)
    shot(page, "shop-home")
    page.goto(stack.url + f"/demo/shop/product/{out_of_stock}", wait_until="load")
    page.wait_for_selector("#alternatives[data-loaded]", timeout=20_000)
    shown = page.locator("#alternatives li.card").evaluate_all("els => els.map(e => e.dataset.product)")
    assert shown, "no alternatives"
    shot(page, "shop-product")
    page.locator("#alternatives li.card a").first.click()
    page.wait_for_url(f"**/demo/shop/product/{shown[0]}")
    page.wait_for_selector("#alternatives[data-loaded]", timeout=20_000)

    def counted() -> dict | None:
        now = totals()
        return now if now["impressions"] >= before["impressions"] + len(shown) and \
            now["clicks"] >= before["clicks"] + 1 else None

    wait_for(counted, "the impressions and the click to be counted", timeout=30)
    after = settled(totals)  # the next page's own impressions may still be on their way
    assert after["clicks"] == before["clicks"] + 1
    # The console shows the same counts.
    console = context.new_page()
    sign_in(console, stack, info["api_key"])
    console.goto(stack.url + f"/console/datasources/{similar}/analytics", wait_until="load")
    assert int(console.inner_text("#total-clicks")) == after["clicks"]
    assert int(console.inner_text("#total-impressions")) == after["impressions"]
    assert console.locator("svg[data-chart='variants-ctr'] rect.bar").count() == 2  # the demo's A/B test
    shot(console, "console-demo-analytics")
    assert errors == []
