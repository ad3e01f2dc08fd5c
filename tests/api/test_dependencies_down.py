"""PostgreSQL or Redis down: the token and recommendation endpoints answer 503 with Retry-After,
/readyz says not ready, and service comes back by itself when they do (no restart of recoms)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from recoms.api.app import create_app
from recoms.services.platform import build_platform
from tests.conftest import POSTGRES, REDIS, Shop, make_settings
from tests.feeds import gmc_xml
from tests.proxy import TcpProxy

pytestmark = pytest.mark.skipif(not (POSTGRES and REDIS), reason="needs RECOMS_TEST_POSTGRES_URL and _REDIS_URL")


def _via(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host).geturl()


@pytest.fixture
def outage(postgres_url, tmp_path):
    pg_target, redis_target = urlsplit(postgres_url), urlsplit(REDIS)
    pg = TcpProxy((pg_target.hostname, pg_target.port or 5432)).start()
    rd = TcpProxy((redis_target.hostname, redis_target.port or 6379)).start()
    settings = make_settings(_via(postgres_url, pg), tmp_path, token_store=_via(REDIS, rd))
    platform = build_platform(settings)
    client = TestClient(create_app(platform=platform, background=False))
    shop = Shop(client, platform)
    shop.feed(gmc_xml([{"id": f"P{i}"} for i in range(5)]))
    shop.events([{"GeneralInfo": {"eventName": "PurchasedItems", "cookies": {"sc": "v"}},
                  "PurchasedItems": {"OrderNumber": "1", "Products": [{"product_id": "P1"}]}}])
    shop.train()
    yield shop, pg, rd
    pg.stop()
    rd.stop()
    platform.close()


def _unavailable(r) -> bool:
    return (r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
            and int(r.headers["retry-after"]) > 0)


def test_redis_down_then_back(outage):
    shop, _pg, redis_proxy = outage
    ds = shop.datasource(algorithm="bestsellers")
    held = shop.token()
    redis_proxy.stop()
    assert _unavailable(shop.client.post("/api/v1/auth/contact/token", json={"email": "a@b.c"}, headers=shop.auth))
    assert _unavailable(shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": held}))
    assert _unavailable(shop.client.get("/readyz"))
    redis_proxy.start()
    # The token was not spent while Redis was away: it works now, and so does a new one.
    assert shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": held}).status_code == 200
    assert shop.recommend_ids(ds) == ["P1"]
    assert shop.client.get("/readyz").status_code == 200


def test_postgres_down_then_back(outage):
    shop, pg_proxy, _rd = outage
    ds = shop.datasource(algorithm="recently_viewed")
    held = shop.token(email="back@shop.test")
    pg_proxy.stop()
    assert _unavailable(shop.client.post("/api/v1/auth/contact/token", json={"email": "x@b.c"}, headers=shop.auth))
    r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": held})
    assert _unavailable(r) and r.headers["ES-TOKEN"]  # the token was exchanged: the app keeps the next one
    next_token = r.headers["ES-TOKEN"]
    assert _unavailable(shop.client.get("/readyz"))
    assert _unavailable(shop.client.post("/api/v2/tracking", json={"GeneralInfo": {
        "eventName": "MainPage", "siteId": shop.site_id, "cookies": {"sc": "v"}}}))
    pg_proxy.start()
    assert shop.client.get("/readyz").status_code == 200
    assert shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": next_token}).status_code == 200
    assert shop.token(email="again@shop.test")
    r = shop.client.post("/api/v2/tracking", json={"GeneralInfo": {
        "eventName": "MainPage", "siteId": shop.site_id, "cookies": {"sc": "after-the-outage"}}})
    assert r.status_code == 200, r.text  # the writer's connection went with the outage: a new one, no 503
    with shop.platform.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM contact_identifiers WHERE value = 'after-the-outage'"
                                    ).scalar() == 1


def test_postgres_down_with_the_tokens_in_postgres(postgres_url, tmp_path):
    """The default token store (SQL) on PostgreSQL: the exchange's own connections fail as a 503 too, the
    token is not spent, and the next call opens a new connection once PostgreSQL is back."""
    target = urlsplit(postgres_url)
    pg = TcpProxy((target.hostname, target.port or 5432)).start()
    platform = build_platform(make_settings(_via(postgres_url, pg), tmp_path))
    try:
        shop = Shop(TestClient(create_app(platform=platform, background=False)), platform)
        shop.feed(gmc_xml([{"id": "P1"}]))
        ds = shop.datasource(algorithm="recently_viewed", fallback=[])
        held = shop.token(email="sql-tokens@shop.test")
        assert shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": held}).status_code == 200
        held = shop.token(email="sql-tokens@shop.test")
        pg.stop()
        r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": held})
        assert _unavailable(r) and "ES-TOKEN" not in r.headers, r.text
        pg.start()
        r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": held})
        assert r.status_code == 200 and r.headers["ES-TOKEN"], r.text
    finally:
        pg.stop()
        platform.close()


def test_a_postgres_restart_between_tracking_requests_costs_no_error(outage):
    """The tracking writer keeps its connection from one group to the next; a restart drops it, and the
    next group goes again on a new connection instead of answering 503."""
    shop, pg_proxy, _rd = outage

    def track(visitor: str):
        return shop.client.post("/api/v2/tracking", json={"GeneralInfo": {
            "eventName": "MainPage", "siteId": shop.site_id, "cookies": {"sc": visitor}}})

    assert track("before-the-restart").status_code == 200
    pg_proxy.stop()  # every connection through it is cut
    pg_proxy.start()
    r = track("after-the-restart")
    assert r.status_code == 200, r.text
    with shop.platform.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM contact_identifiers WHERE value LIKE '%%-the-restart'"
                                    ).scalar() == 2
