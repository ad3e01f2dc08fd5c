"""CORS: a shop's pages may call tracking and the ES-TOKEN recommendations from another origin; nothing
else gets CORS headers (a page holding an API key would be a leak). Allowed origins are a setting."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from recoms.api.app import create_app
from tests.conftest import envelope

PREFLIGHT = {"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type"}


@pytest.mark.parametrize("path", ["/api/v2", "/api/v2/tracking", "/api/v1/mobile/events", "/api/v1/recoms/1"])
def test_browser_routes_answer_the_preflight(client, path):
    headers = {**PREFLIGHT, "Access-Control-Request-Headers": "content-type, es-token"}
    r = client.options(path, headers=headers)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] in ("*", "https://shop.example.com")
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "es-token" in r.headers["access-control-allow-headers"].lower()


def test_server_routes_get_no_cors(client, shop):
    r = client.options("/api/v1/datasources", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/api/v1/datasources", headers={**shop.auth, "Origin": "https://shop.example.com"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_the_next_token_is_readable_by_the_page(shop):
    ds = shop.datasource(algorithm="bestsellers")
    r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": shop.token(), "Origin": "https://a.example"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] in ("*", "https://a.example")
    assert "es-token" in r.headers["access-control-expose-headers"].lower()


def test_without_an_origin_the_answer_still_varies_by_origin(shop):
    """An app or a server sends no Origin: no CORS headers, but caches learn the answer varies by it."""
    ds = shop.datasource(algorithm="bestsellers")
    r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": shop.token()})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "Origin" and r.headers["es-token"]
    r = shop.client.post("/api/v2/tracking", json=envelope("MainPage", {}, siteId=shop.site_id))
    assert r.status_code == 200 and r.headers["vary"] == "Origin" and "access-control-allow-origin" not in r.headers


def test_a_text_plain_beacon_is_accepted(shop):
    body = envelope("ProductPage", {"productKey": "P1"}, siteId=shop.site_id)
    r = shop.client.post("/api/v2/tracking", content=json.dumps(body),
                         headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example.com"})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert r.headers["access-control-allow-origin"] in ("*", "https://shop.example.com")


def test_allowed_origins_are_a_setting(platform):
    settings = platform.settings.model_copy(update={"cors_origins": "https://mine.example"})
    app = create_app(settings=settings, platform=platform, background=False)
    with TestClient(app) as client:
        mine = client.options("/api/v2", headers={**PREFLIGHT, "Origin": "https://mine.example"})
        other = client.options("/api/v2", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert mine.status_code == 200 and mine.headers["access-control-allow-origin"] == "https://mine.example"
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
