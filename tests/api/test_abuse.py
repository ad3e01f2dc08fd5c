"""Abuse limits that hold: per API key, per public site id, per address that sends wrong keys; a
Retry-After on every 429; X-Forwarded-For believed only from the operator's proxies; headers that keep
browsers and caches safe; docs and metrics behind a key when the operator asks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recoms.api.app import create_app
from recoms.services.platform import build_platform
from tests.conftest import Shop, basic, envelope, make_settings


@pytest.fixture
def strict(tmp_path):
    """A server with small limits, and a way to call it from a given peer address."""

    def build(**limits) -> Shop:
        settings = make_settings(f"sqlite:///{tmp_path / 'strict.db'}", tmp_path, **limits)
        platform = build_platform(settings)
        return Shop(TestClient(create_app(platform=platform, background=False)), platform)

    return build


def assert_429(r) -> None:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json" and int(r.headers["retry-after"]) >= 1


def test_one_key_is_limited_and_others_are_not(strict):
    shop = strict(rate_limit_per_key_per_second=2)
    answers = [shop.client.get("/api/v1/datasources", headers=shop.auth).status_code for _ in range(8)]
    assert answers[:4] == [200] * 4 and 429 in answers
    assert_429(shop.client.get("/api/v1/datasources", headers=shop.auth))
    other = Shop(shop.client, shop.platform)
    assert other.client.get("/api/v1/datasources", headers=other.auth).status_code == 200


def test_one_site_id_is_limited(strict):
    shop = strict(rate_limit_per_site_per_second=1)
    event = envelope("MainPage", {}, siteId=shop.site_id)
    answers = [shop.client.post("/api/v2/tracking", json=event).status_code for _ in range(5)]
    assert answers[:2] == [200, 200] and answers[-1] == 429
    assert_429(shop.client.post("/api/v2", json=event))


def test_wrong_keys_block_the_address_not_the_key(strict):
    shop = strict(auth_failures_per_minute=3)
    for _ in range(3):
        assert shop.client.get("/api/v1/datasources", headers=basic("rk_guess")).status_code == 401
    assert_429(shop.client.get("/api/v1/datasources", headers=basic("rk_guess")))
    assert_429(shop.client.get("/api/v1/datasources", headers=shop.auth))  # even the right key, from there
    elsewhere = TestClient(shop.client.app, client=("203.0.113.9", 5000))
    assert elsewhere.get("/api/v1/datasources", headers=shop.auth).status_code == 200


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(strict):
    shop = strict(auth_failures_per_minute=2, trusted_proxies="10.0.0.0/8")
    behind = TestClient(shop.client.app, client=("10.0.0.5", 1234))
    for _ in range(2):
        behind.get("/api/v1/datasources", headers={**basic("rk_guess"), "X-Forwarded-For": "198.51.100.7"})
    # The attacker behind the proxy is blocked; another visitor behind the same proxy is not.
    assert_429(behind.get("/api/v1/datasources", headers={**shop.auth, "X-Forwarded-For": "198.51.100.7"}))
    ok = behind.get("/api/v1/datasources", headers={**shop.auth, "X-Forwarded-For": "198.51.100.8"})
    assert ok.status_code == 200
    # From an untrusted peer the header means nothing: rotating it does not escape the limit.
    direct = TestClient(shop.client.app, client=("192.0.2.1", 1234))
    for n in range(3):
        direct.get("/api/v1/datasources", headers={**basic("rk_guess"), "X-Forwarded-For": f"198.51.100.{n}"})
    assert_429(direct.get("/api/v1/datasources", headers={**shop.auth, "X-Forwarded-For": "198.51.100.99"}))


def test_the_per_address_write_limit_says_when_to_retry(strict):
    shop = strict(rate_limit_per_second=1)
    event = envelope("MainPage", {}, siteId=shop.site_id)
    answers = [shop.client.post("/api/v2/tracking", json=event) for _ in range(4)]
    assert_429(answers[-1])


def test_security_headers(shop):
    ds = shop.datasource(algorithm="bestsellers")
    token = shop.client.post("/api/v1/auth/contact/token", json={"email": "a@b.c"}, headers=shop.auth)
    assert token.headers["cache-control"] == "no-store"
    recoms = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": token.json()["token"]})
    assert recoms.headers["cache-control"] == "no-store"
    for r in (token, recoms, shop.client.get("/healthz"), shop.client.get("/api/v1/nope")):
        assert r.headers["x-content-type-options"] == "nosniff"


def test_docs_and_metrics_can_be_put_behind_a_key(strict):
    shop = strict(protect_docs=True)
    for path in ("/docs", "/openapi.json", "/metrics"):
        r = shop.client.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic"), path
        assert shop.client.get(path, headers=shop.auth).status_code == 200, path
    assert shop.client.get("/healthz").status_code == 200
