"""The recommendation and tracker routes answered ahead of the app's stack: what the app's layers did, they
still do."""

from __future__ import annotations

import sqlalchemy

from recoms.api.routes import recoms as recoms_route
from recoms.store.tables import events
from tests.conftest import envelope

ROUTE_LABEL = 'route="/api/v1/recoms/{dataSourceId:datasource}"'


def _served(client, status: str) -> float:
    """How many requests the metrics count for the token route with this status."""
    r = client.get("/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in r.text.splitlines()
               if line.startswith("recoms_http_requests_total{") and ROUTE_LABEL in line
               and f'status="{status}"' in line)


def test_answers_carry_the_edge_headers_and_are_counted_under_the_route(shop):
    ds = shop.datasource(algorithm="bestsellers")
    before = _served(shop.client, "200")
    r = shop.recoms(ds)
    assert r.status_code == 200, r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store" and r.headers["vary"] == "Origin"
    assert _served(shop.client, "200") == before + 1


def test_other_methods_and_an_empty_id_are_answered_by_the_app(shop):
    r = shop.client.put("/api/v1/recoms/1", headers={"ES-TOKEN": shop.token()})
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    r = shop.client.get("/api/v1/recoms/", headers={"ES-TOKEN": shop.token()})
    assert r.status_code == 404 and r.json()["status"] == 404


def test_an_error_that_escapes_the_route_is_a_problem_500(shop, monkeypatch):
    async def broken(scope, receive, send):
        raise RuntimeError("a bug")

    monkeypatch.setattr(recoms_route.token_route, "app", broken)
    before = _served(shop.client, "500")
    r = shop.client.get("/api/v1/recoms/1", headers={"ES-TOKEN": shop.token()})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json" and r.json()["status"] == 500
    assert r.headers["connection"] == "close" and r.headers["x-content-type-options"] == "nosniff"
    assert _served(shop.client, "500") == before + 1


def test_a_store_down_behind_the_route_is_a_503_a_page_from_another_origin_can_read(shop, monkeypatch):
    async def store_down(scope, receive, send):
        raise sqlalchemy.exc.OperationalError("SELECT 1", (), Exception("connection refused"))

    monkeypatch.setattr(recoms_route.token_route, "app", store_down)
    r = shop.client.get("/api/v1/recoms/1", headers={"ES-TOKEN": shop.token(), "Origin": "https://shop.example.com"})
    assert r.status_code == 503 and r.json()["status"] == 503 and r.headers["retry-after"]
    assert r.headers["access-control-allow-origin"] in ("*", "https://shop.example.com")
    assert r.headers["cache-control"] == "no-store"


def test_a_body_over_the_limit_is_refused_on_the_hot_path(shop):
    r = shop.client.post("/api/v1/recoms/1", content=b"x" * (shop.platform.settings.max_body_bytes + 1),
                         headers={"ES-TOKEN": shop.token(), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["title"] == "Payload too large"
    # Streamed (no Content-Length): refused while it arrives, by the edge, through the route.
    chunks = iter([b"x" * 1024] * (shop.platform.settings.max_body_bytes // 1024 + 2))
    r = shop.client.post("/api/v1/recoms/1", content=chunks,
                         headers={"ES-TOKEN": shop.token(), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["title"] == "Payload too large"


def test_v2_answers_and_refuses_as_the_app_did(shop):
    ds = shop.datasource(algorithm="bestsellers")
    label = 'route="/api/v2/contacts/recoms/{dataSourceId}"'

    def served(status: str) -> float:
        text = shop.client.get("/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("recoms_http_requests_total{") and label in line and f'status="{status}"' in line)

    before = served("200"), served("401")
    r = shop.client.get(f"/api/v2/contacts/recoms/{ds}", params={"email": "a@example.com"}, headers=shop.auth)
    assert r.status_code == 200 and isinstance(r.json(), list)
    assert r.headers["x-content-type-options"] == "nosniff" and "access-control-allow-origin" not in r.headers
    r = shop.client.get(f"/api/v2/contacts/recoms/{ds}", params={"email": "a@example.com"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert r.headers["content-type"] == "application/problem+json"
    assert (served("200"), served("401")) == (before[0] + 1, before[1] + 1)


def _counted(client, route: str, status: str) -> float:
    """How many requests the metrics count for this route with this status."""
    text = client.get("/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("recoms_http_requests_total{") and f'route="{route}"' in line
               and f'status="{status}"' in line)


def test_the_tracker_answers_and_refuses_on_the_hot_path_as_the_app_did(shop, monkeypatch):
    def served(route: str, status: str) -> float:
        return _counted(shop.client, route, status)

    event = envelope("ProductPage", {"productKey": "P1"}, siteId=shop.site_id)
    before = served("/api/v2/tracking", "200"), served("/api/v2", "200"), served("/api/v2/tracking", "400")
    r = shop.client.post("/api/v2/tracking", json=event)
    assert r.status_code == 200 and r.json() == {"accepted": 1, "errors": [], "duplicates": []}
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["vary"] == "Origin"
    r = shop.client.post("/api/v2", json=[event, {"GeneralInfo": {"eventName": "ProductPage"}}])
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert r.json()["errors"][0]["index"] == 1 and "siteId" in r.json()["errors"][0]["reason"]
    r = shop.client.post("/api/v2/tracking", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert (served("/api/v2/tracking", "200"), served("/api/v2", "200"), served("/api/v2/tracking", "400")) == (
        before[0] + 1, before[1] + 1, before[2] + 1)
    with shop.platform.engine.connect() as conn:  # both events stored, under the shop's account
        stored = conn.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(events).where(
            events.c.account_id == shop.account_id)).scalar_one()
    assert stored == 2

    # Other methods are the app's (405 with Allow); a body over the limit is the edge's 413.
    r = shop.client.get("/api/v2/tracking")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.headers["content-type"] == "application/problem+json"
    r = shop.client.post("/api/v2/tracking", content=b"[" + b" " * shop.platform.settings.max_body_bytes + b"]",
                         headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["title"] == "Payload too large"

    # The store down: a 503 that a shop's page (another origin) can read.
    async def store_down(*args, **kwargs):
        raise sqlalchemy.exc.OperationalError("INSERT", (), Exception("connection refused"))

    monkeypatch.setattr(shop.platform.ingest_queue, "store", store_down)
    r = shop.client.post("/api/v2/tracking", json=event, headers={"Origin": "https://shop.example.com"})
    assert r.status_code == 503 and r.json()["status"] == 503 and r.headers["retry-after"]
    assert r.headers["access-control-allow-origin"] in ("*", "https://shop.example.com")


def test_events_from_apps_and_shops_servers_answer_and_refuse_on_the_hot_path_as_the_app_did(shop):
    """`/api/v1/events` (a shop's server, the Reteno SDK's batches) and `/api/v1/mobile/events`."""
    routes = ("/api/v1/events", "/api/v1/mobile/events")
    before = {(route, status): _counted(shop.client, route, status) for route in routes for status in ("200", "401")}
    r = shop.client.post("/api/v1/events", json=[envelope("ProductPage", {"productKey": "P1"})], headers=shop.auth)
    assert r.status_code == 200 and r.json() == {"accepted": 1, "errors": [], "duplicates": []}
    assert r.headers["x-content-type-options"] == "nosniff"
    r = shop.client.post("/api/v1/events", json=[envelope("ProductPage", {"productKey": "P1"})])
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    mobile = [{"eventName": "productViewed", "userPseudoId": "app-1", "params": {"productKey": "P2"}}]
    r = shop.client.post("/api/v1/mobile/events", json=mobile, params={"siteId": shop.site_id})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = shop.client.post("/api/v1/mobile/events", json=mobile)
    assert r.status_code == 401 and r.json()["status"] == 401
    assert {key: _counted(shop.client, *key) - count for key, count in before.items()} == {
        (route, status): 1 for route in routes for status in ("200", "401")}
    with shop.platform.engine.connect() as conn:
        stored = conn.execute(sqlalchemy.select(events.c.type).where(events.c.account_id == shop.account_id)).scalars()
        assert sorted(stored) == ["ProductPage", "ProductPage"]
    for route in routes:  # other methods are the app's
        r = shop.client.get(route, headers=shop.auth)
        assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_matched_paths_are_kept_per_path_and_method_within_a_bound(shop, monkeypatch):
    """HotPath keeps the routes it matched by path: each data source still answers as itself, another
    method is still the app's, and a client inventing paths never grows what is kept past the bound."""
    hot = shop.client.app.hot_path
    monkeypatch.setattr(hot, "MAX_MATCHED", 16)
    monkeypatch.setattr(hot, "matched", {})
    sellers, fresh = shop.datasource(algorithm="bestsellers"), shop.datasource(algorithm="new_arrivals")
    for _ in range(2):  # the second time from what was kept
        for ds in (sellers, fresh, sellers):
            r = shop.recoms(ds)
            assert r.status_code == 200, r.text
        assert r.headers["x-recommendation-id"].startswith(f"r{sellers}v")
        r = shop.recoms(fresh)
        assert r.headers["x-recommendation-id"].startswith(f"r{fresh}v")
        r = shop.client.put(f"/api/v1/recoms/{sellers}", headers={"ES-TOKEN": shop.token()})
        assert r.status_code == 405
    kept = {path for _, _, path in hot.matched}
    assert kept == {f"/api/v1/recoms/{sellers}", f"/api/v1/recoms/{fresh}"}
    token = shop.token()
    for i in range(40):  # unknown ids: each a 404 with the next token, none kept past the bound
        r = shop.client.get(f"/api/v1/recoms/9{i:05d}", headers={"ES-TOKEN": token})
        assert r.status_code == 404 and r.json()["status"] == 404
        token = r.headers["es-token"]
        assert len(hot.matched) <= 16
    long = "/api/v1/recoms/" + "7" * 300
    r = shop.client.get(long, headers={"ES-TOKEN": token})
    assert r.status_code == 404 and all(path != long for _, _, path in hot.matched)
