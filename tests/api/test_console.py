"""The console over HTTP: sign-in sessions (the key never in a URL, a cookie or a log), the JSON routes'
guard, the pages, the live preview's errors at their field, and the offline docs."""

from __future__ import annotations

import logging

import pytest

from recoms.services.accounts import create_key
from tests.conftest import envelope
from tests.feeds import gmc_xml

CONSOLE = {"X-Recoms-Console": "1"}


def signed_in(shop, key: str | None = None) -> None:
    shop.client.cookies.clear()
    r = shop.client.post("/console/sign-in", data={"api_key": key or shop.key}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/datasources", r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert (key or shop.key) not in cookie


def test_sign_in_keeps_the_key_out_of_urls_cookies_and_logs(shop, caplog):
    caplog.set_level(logging.DEBUG)
    r = shop.client.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"
    page = shop.client.get("/console/sign-in")
    assert page.status_code == 200 and 'method="post"' in page.text and 'type="password"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    signed_in(shop)
    r = shop.client.get("/console/datasources")
    assert r.status_code == 200 and shop.key not in r.text
    assert shop.key not in caplog.text
    shop.client.cookies.clear()


def test_wrong_keys_and_keys_without_the_scope_are_refused(shop):
    shop.client.cookies.clear()
    r = shop.client.post("/console/sign-in", data={"api_key": "rk_wrong"}, follow_redirects=False)
    assert r.status_code == 401 and "unknown" in r.text and "set-cookie" not in r.headers
    tracking_only = create_key(shop.platform.engine, shop.account_id, ["tracking:write"])["api_key"]
    r = shop.client.post("/console/sign-in", data={"api_key": tracking_only}, follow_redirects=False)
    assert r.status_code == 403 and "datasources:manage" in r.text


def test_the_json_routes_want_a_session_and_the_console_header(shop):
    shop.client.cookies.clear()
    body = {"name": "x", "algorithm": "bestsellers"}
    assert shop.client.post("/console/api/datasources", json=body, headers=CONSOLE).status_code == 401
    signed_in(shop)
    r = shop.client.post("/console/api/datasources", json=body)  # a form of another site cannot add the header
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = shop.client.post("/console/api/datasources", json=body, headers=CONSOLE)
    assert r.status_code == 201 and r.json()["name"] == "x"
    # Signing out ends the session on the server, not only in the browser.
    token = shop.client.cookies.get("recoms_console")
    shop.client.post("/console/sign-out")
    shop.client.cookies.set("recoms_console", token, path="/console")
    assert shop.client.post("/console/api/datasources", json=body, headers=CONSOLE).status_code == 401
    shop.client.cookies.clear()


def test_a_revoked_key_ends_its_sessions(shop):
    other = create_key(shop.platform.engine, shop.account_id, ["admin"])
    signed_in(shop, other["api_key"])
    assert shop.client.get("/console/datasources", follow_redirects=False).status_code == 200
    from recoms.store.accounts import revoke_api_key

    key_id = _key_id(shop, other["api_key"])
    with shop.platform.engine.begin() as conn:
        revoke_api_key(conn, shop.account_id, key_id)
    assert shop.client.get("/console/datasources", follow_redirects=False).status_code == 303
    shop.client.cookies.clear()


def _key_id(shop, secret: str) -> int:
    from recoms.store.accounts import key_by_secret

    with shop.platform.engine.connect() as conn:
        return key_by_secret(conn, secret).id


def test_pages_render(shop):
    shop.feed(gmc_xml([{"id": f"P{i}"} for i in range(4)]))
    shop.events([envelope("ProductPage", {"productKey": "P1"})])
    shop.train()
    ds = shop.datasource(algorithm="bestsellers", variants=[{"share": 30, "name": "Trial"}])
    signed_in(shop)
    listing = shop.client.get("/console/datasources").text
    assert f'data-copy="{ds}"' in listing and "Trial 30" in listing and "experiment" in listing
    for path in (f"/console/datasources/{ds}", "/console/datasources/new", f"/console/datasources/{ds}/analytics",
                 "/console/analytics", "/console/feeds", "/console/training"):
        r = shop.client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
    assert "<svg" in shop.client.get(f"/console/datasources/{ds}/analytics").text
    assert shop.client.get("/console/static/console.js").status_code == 200
    shop.client.cookies.clear()


def test_the_preview_answers_as_the_app_would_and_names_bad_fields(shop):
    shop.feed(gmc_xml([{"id": f"P{i}", "brand": ("Acme", "Volt")[i % 2], "tags": {"image_link": f"https://i/{i}.jpg"}}
                       for i in range(6)]))
    shop.events([envelope("ProductPage", {"productKey": f"P{i}"}, sc=f"v{i}") for i in range(6)])
    shop.train()
    signed_in(shop)
    config = {"name": "p", "algorithm": "bestsellers", "size": 3,
              "rules": [{"type": "show_only", "field": "brand", "op": "eq", "values": ["Volt"]}]}
    r = shop.client.post("/console/api/preview", json={"datasource": config}, headers=CONSOLE)
    assert r.status_code == 200, r.text
    found = r.json()["products"]
    assert found and all(p["brand"] == "Volt" and p["imageUrl"].startswith("https://i/") for p in found)
    assert r.json()["variant"] == {"id": 0, "name": "A"}
    bad = {**config, "variants": [{"share": 150}]}
    r = shop.client.post("/console/api/preview", json={"datasource": bad}, headers=CONSOLE)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "variants[0].share"
    r = shop.client.post("/console/api/preview", json={"datasource": config, "contact": "nobody@example.com"},
                         headers=CONSOLE)
    assert r.status_code == 404
    shop.client.cookies.clear()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_load_nothing_from_elsewhere(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert "cdn." not in r.text and "https://" not in r.text.replace("https://recoms", "")
    assert "/docs/assets/swagger-ui-bundle.js" in r.text
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
