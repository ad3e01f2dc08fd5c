"""One error shape (SPEC §6): every error of every route is application/problem+json
`{type, title, status, detail, errors?}`, never a stack trace.

The routes are walked from the OpenAPI document, so a new route is covered without touching this file;
`BAD_BODIES` and `GOOD_BODIES` add per-route inputs where a generic one says too little.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recoms.api.app import create_app
from recoms.services.platform import build_platform
from tests.conftest import Shop, envelope, make_settings
from tests.feeds import gmc_xml

PROBLEM = "application/problem+json"
KEYS = {"type", "title", "status", "detail", "message", "errors"}
METHODS = ("get", "post", "put", "delete", "patch")
# Routes that anyone may call: liveness, metrics, the tracker script and the browser tracker (site key
# in the body). Every other route must refuse a request without credentials with 401.
PUBLIC = {"/healthz", "/readyz", "/metrics", "/tracker.js", "/scripts/{site_id}.js", "/api/v2/tracking", "/api/v2",
          "/logs/v1/plugin", "/docs", "/openapi.json"}
UNKNOWN_ID = "999999999"

# Bodies of the right shape for a route, so an unknown id is what fails.
GOOD_BODIES: dict[tuple[str, str], Any] = {
    ("put", "/api/v1/datasources/{ds_id}"): {"name": "x", "algorithm": "bestsellers"},
    ("post", "/api/v1/recoms/{dataSourceId}"): {"products": ["P1"]},
    ("post", "/api/v1/recoms/{recomVariantId}/request"): {"products": ["P1"]},
}
# Bodies with wrong types or missing parts, and the status each must get.
BAD_BODIES: dict[tuple[str, str], list[tuple[Any, int]]] = {
    ("post", "/api/v1/auth/contact/token"): [({}, 400), ({"email": 42}, 400), ({"phone": ["1"]}, 400),
                                             ({"email": "not-an-email"}, 400), ({"extid": True}, 400)],
    ("post", "/api/v1/events"): [([5], 400), ([{"GeneralInfo": "x"}], 400), ([], 400)],
    ("post", "/api/v1/mobile/events"): [([5], 400), ([{"eventName": 7}], 400)],
    ("post", "/api/v2/tracking"): [({"GeneralInfo": {"eventName": "ProductPage"}}, 400), ([None], 400)],
    ("post", "/api/v1/feeds"): [({"url": 5}, 400), ({"url": "ftp://x/feed.xml"}, 400), ({}, 400)],
    ("post", "/api/v1/datasources"): [({"name": 5, "algorithm": "bestsellers"}, 422),
                                      ({"name": "x", "algorithm": "bestsellers", "size": "ten"}, 422),
                                      ({"name": "x", "algorithm": "bestsellers", "rules": [{"type": 1}]}, 422)],
    ("put", "/api/v1/datasources/{ds_id}"): [({"name": "x"}, 422)],
    ("post", "/api/v1/recoms/{recomVariantId}/request"): [({"fields": "name"}, 400), ({"products": 5}, 400),
                                                          ({"filters": "brand"}, 400)],
    ("post", "/api/v1/recoms/events"): [({"events": "x"}, 400), ({"events": [{"impressions": [{}]}]}, 400)],
    ("post", "/api/v1/device"): [({"deviceId": 5.5}, 400), ({}, 400)],
    ("post", "/api/v1/user"): [({"deviceId": "d", "userAttributes": "x"}, 400), ({}, 400)],
    ("post", "/api/v1/orders"): [({"orders": []}, 400), ({"orders": [{"items": []}]}, 400), ([], 400)],
    ("post", "/api/v1/contact"): [({}, 400), ({"channels": [{"type": "email", "value": "nope"}]}, 400)],
    ("post", "/api/v1/contacts"): [({"contacts": "x"}, 400), ([], 400)],
    ("post", "/api/v1/site/domains"): [({}, 400), ({"domain": "not a host"}, 400), ({"domain": 5}, 400)],
    ("post", "/api/v1/recoms/{dataSourceId}"): [({"products": 5}, 400), ({"products": [{"id": 1}]}, 400),
                                                ({"filters": [{"name": "colour", "values": ["x"]}]}, 400),
                                                ({"filters": "brand"}, 400)],
}
# Query strings with wrong values (beyond the generic integer check), and the status each must get.
BAD_QUERIES: dict[tuple[str, str], list[tuple[dict[str, str], int]]] = {
    ("get", "/api/v1/contacts"): [({}, 400), ({"email": "nope"}, 400), ({"phone": "call me"}, 400)],
    ("get", "/api/v1/contacts/{contact_id}/events"): [({"limit": "0"}, 400), ({"limit": "100000"}, 400)],
    ("get", "/api/v2/contacts/recoms/{dataSourceId}"): [({"email": "@"}, 400), ({"phone": "x"}, 400)],
    ("get", "/api/v1/recoms/{dataSourceId}"): [({"filter.include.colour": "red"}, 400),
                                               ({"filter.sometimes.brand": "x"}, 400)],
    ("post", "/api/v1/feeds"): [({"mode": "sometimes"}, 400)],
}
UNKNOWN_PATHS = ["/api/v1/nope", "/api/v3/recoms/1", "/api/v1/datasources/1/extra", "/nothing/here", "/api/"]


def problem_failures(r, where: str, expected: int | tuple[int, ...] | None = None) -> list[str]:
    """What is wrong with this response as an error (empty when it is a proper problem)."""
    out = []
    status = r.status_code
    if expected is not None and status not in (expected if isinstance(expected, tuple) else (expected,)):
        out.append(f"{where}: status {status}, expected {expected}: {r.text[:200]}")
    if status < 400:
        return out or [f"{where}: status {status} is not an error"]
    if r.headers.get("content-type") != PROBLEM:
        out.append(f"{where}: content-type {r.headers.get('content-type')!r}: {r.text[:200]}")
    for leak in ("Traceback", 'File "', "site-packages", "sqlalchemy", "Error:"):
        if leak in r.text:
            out.append(f"{where}: the body leaks {leak!r}: {r.text[:300]}")
    try:
        body = r.json()
    except ValueError:
        return [*out, f"{where}: body is not JSON: {r.text[:200]}"]
    if not isinstance(body, dict):
        return [*out, f"{where}: body is not an object: {body!r}"]
    if not set(body) <= KEYS:
        out.append(f"{where}: unexpected keys {sorted(set(body) - KEYS)}")
    if missing := {"type", "title", "status", "detail", "message"} - set(body):
        out.append(f"{where}: missing keys {sorted(missing)}")
    if body.get("status") != status:
        out.append(f"{where}: status field {body.get('status')!r} != HTTP {status}")
    if not isinstance(body.get("detail"), str) or not body["detail"].strip():
        out.append(f"{where}: detail {body.get('detail')!r} is not a non-empty string")
    if body.get("message") != body.get("detail"):
        out.append(f"{where}: message {body.get('message')!r} is not the detail (the platform's clients log it)")
    if not isinstance(body.get("title"), str) or not body.get("title"):
        out.append(f"{where}: title {body.get('title')!r}")
    if not isinstance(body.get("type"), str) or not body.get("type"):
        out.append(f"{where}: type {body.get('type')!r}")
    if "errors" in body and not isinstance(body["errors"], list):
        out.append(f"{where}: errors is not a list")
    return out


def operations(client: TestClient) -> Iterator[tuple[str, str, dict]]:
    for path, ops in client.app.openapi()["paths"].items():
        for method, op in ops.items():
            if method in METHODS:
                yield path, method, op


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def params_of(op: dict, where: str) -> list[dict]:
    return [p for p in op.get("parameters", []) if p["in"] == where]


class Caller:
    """Sends requests with or without credentials and gathers the failures."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        # A 500 must show up as a failing response, not as an exception out of the test client.
        self.client = TestClient(shop.client.app, raise_server_exceptions=False)
        self.failures: list[str] = []
        self.checked = 0

    def headers(self, path: str, auth: bool) -> dict[str, str]:
        if not auth:
            return {}
        h = dict(self.shop.auth)
        if path.startswith("/api/v1/recoms/"):
            h["ES-TOKEN"] = self.shop.token()
        return h

    def check(self, method: str, path: str, expected=None, auth: bool = True, **kwargs: Any):
        headers = {**self.headers(path, auth), **kwargs.pop("headers", {})}
        r = self.client.request(method.upper(), path, headers=headers, **kwargs)
        note = f"{method.upper()} {path} {kwargs.get('params') or ''}{str(kwargs.get('json', ''))[:60]}"
        self.failures += problem_failures(r, note, expected)
        self.checked += 1
        return r


@pytest.fixture
def caller(shop) -> Caller:
    return Caller(shop)


def finish(caller: Caller, at_least: int) -> None:
    assert caller.checked >= at_least, f"the walk only sent {caller.checked} requests"
    assert not caller.failures, "\n".join(caller.failures)


def test_the_walk_sees_every_router(client):
    paths = {path for path, _, _ in operations(client)}
    for expected in ("/api/v1/auth/contact/token", "/api/v1/recoms/{dataSourceId}",
                     "/api/v2/contacts/recoms/{dataSourceId}", "/api/v1/events", "/api/v1/feeds",
                     "/api/v1/datasources/{ds_id}", "/api/v1/contacts/{contact_id}", "/healthz"):
        assert expected in paths


def test_no_credentials_is_401_on_every_protected_route(caller):
    for path, method, op in operations(caller.shop.client):
        if path in PUBLIC:
            continue
        body = {"json": {}} if "requestBody" in op else {}
        r = caller.check(method, fill(path, "1"), 401, auth=False, **body)
        if (r.status_code == 401 and not path.startswith("/api/v1/recoms/")
                and not r.headers.get("WWW-Authenticate", "").startswith("Basic")):
            caller.failures.append(f"{method.upper()} {path}: 401 without WWW-Authenticate: Basic")
        if "ES-TOKEN" in r.headers:
            caller.failures.append(f"{method.upper()} {path}: a new ES-TOKEN without a token")
        # A key that is not ours is refused the same way.
        caller.check(method, fill(path, "1"), 401, auth=False, headers={"Authorization": "Basic Zm9vOmJhcg=="},
                     **body)
    finish(caller, 20)


def test_public_routes_answer_without_credentials(client):
    for path in ("/healthz", "/readyz", "/metrics", "/tracker.js"):
        assert client.get(path).status_code == 200, path


def test_malformed_json_is_400_on_every_route_with_a_body(caller):
    for path, method, op in operations(caller.shop.client):
        if "requestBody" not in op:
            continue
        for raw in (b'{"broken": ', b"[1, 2", b"\xff\xfe not utf-8"):
            caller.check(method, fill(path, "1"), 400, content=raw, headers={"Content-Type": "application/json"})
    finish(caller, 15)


def test_wrong_types_are_4xx_on_every_route_with_a_body(caller):
    for path, method, op in operations(caller.shop.client):
        if "requestBody" not in op:
            continue
        for body in ("just a string", 12345, None, True):  # JSON scalars where objects or arrays belong
            if body is None:
                caller.check(method, fill(path, UNKNOWN_ID), (400, 422), content=b"null",
                             headers={"Content-Type": "application/json"})
            else:
                caller.check(method, fill(path, UNKNOWN_ID), (400, 404, 422), json=body)
        for body, status in BAD_BODIES.get((method, path), []):
            caller.check(method, fill(path, UNKNOWN_ID if "{ds_id}" in path else "1"), status, json=body)
    finish(caller, 40)


def test_bad_query_values_are_4xx(caller):
    for path, method, op in operations(caller.shop.client):
        body = {"json": GOOD_BODIES.get((method, path), {})} if "requestBody" in op else {}
        for param in params_of(op, "query"):
            if param.get("schema", {}).get("type") == "integer":
                caller.check(method, fill(path, UNKNOWN_ID), (400, 422), params={param["name"]: "abc"}, **body)
        for params, status in BAD_QUERIES.get((method, path), []):
            caller.check(method, fill(path, UNKNOWN_ID), status, params=params, **body)
    finish(caller, 10)


def test_unknown_ids_are_404_and_non_numeric_ids_are_4xx(caller):
    for path, method, op in operations(caller.shop.client):
        if not params_of(op, "path"):
            continue
        body = {}
        if "requestBody" in op:
            if (method, path) not in GOOD_BODIES:
                continue
            body = {"json": GOOD_BODIES[(method, path)]}
        caller.check(method, fill(path, UNKNOWN_ID), 404, **body)
        caller.check(method, fill(path, "not-a-number"), (404, 422), **body)
        caller.check(method, fill(path, "-1"), (404, 422), **body)
        caller.check(method, fill(path, "0"), (404, 422), **body)
    finish(caller, 20)


def documented_methods(client: TestClient) -> dict[str, set[str]]:
    documented: dict[str, set[str]] = {}
    for path, method, _ in operations(client):
        documented.setdefault(path, set()).add(method)
    return documented


def test_wrong_methods_are_problems(caller):
    for path, methods in documented_methods(caller.shop.client).items():
        for method in set(METHODS) - methods:
            # 404/422 where another route's pattern takes the path (PUT /api/v1/datasources/algorithms).
            caller.check(method, fill(path, "1"), (404, 405, 422), json={} if method != "get" else None)
    finish(caller, 40)


def test_a_method_no_route_has_is_405_on_every_documented_path(caller):
    for path in documented_methods(caller.shop.client):
        r = caller.check("patch", fill(path, "1"), 405, json={})
        if r.status_code == 405 and not r.headers.get("allow"):
            caller.failures.append(f"PATCH {path}: 405 without an Allow header")
    finish(caller, 15)


def test_unknown_paths_are_404(caller):
    for path in UNKNOWN_PATHS:
        for method in ("get", "post"):
            caller.check(method, path, 404)
            caller.check(method, path, 404, auth=False)
    finish(caller, len(UNKNOWN_PATHS) * 4)


@pytest.mark.parametrize("digits", [19, 40])
def test_ids_too_large_for_the_database_are_404_or_422(caller, digits):
    for path, method, op in operations(caller.shop.client):
        if not params_of(op, "path"):
            continue
        body = {"json": GOOD_BODIES.get((method, path), {})} if "requestBody" in op else {}
        caller.check(method, fill(path, "9" * digits), (404, 422), **body)
    finish(caller, 5)


def test_errors_after_a_token_is_accepted_are_problems_too(shop):
    shop.feed(gmc_xml([{"id": "P1"}]))
    shop.train()
    ds = shop.datasource(algorithm="similar")
    r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": shop.token()})
    assert not problem_failures(r, "needs products", 400)
    assert r.headers["ES-TOKEN"]
    r = shop.client.get(f"/api/v1/recoms/{ds}", headers={"ES-TOKEN": "x" * 300})
    assert not problem_failures(r, "long token", 401)


def test_a_data_source_that_needs_products_says_so_before_any_training(shop):
    ds = shop.datasource(algorithm="similar")
    r = shop.recoms(ds)
    assert not problem_failures(r, "needs products, untrained", 400)


def test_an_over_long_order_number_is_reported_not_a_500(shop, platform, request):
    client = TestClient(shop.client.app, raise_server_exceptions=False)
    batch = [envelope("MainPage", {}, sc="long-order"),
             envelope("PurchasedItems", {"OrderNumber": "O" * 300, "Products": [{"product_id": "A"}]},
                      sc="long-order")]
    r = client.post("/api/v1/events", json=batch, headers=shop.auth)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] >= 1


# --- unexpected errors and oversized bodies ---------------------------------------------------


def test_an_unexpected_exception_is_a_500_problem_without_internals(platform):
    app = create_app(platform=platform, background=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2 at /srv/recoms/db.py")

    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/boom")
    assert not problem_failures(r, "/boom", 500)
    assert "hunter2" not in r.text and "RuntimeError" not in r.text and "/srv" not in r.text
    assert r.json()["title"] == "Internal error"


def test_an_unexpected_exception_on_the_recoms_path_is_a_500_problem_with_the_next_token(shop, monkeypatch):
    ds = shop.datasource(algorithm="bestsellers")

    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise ZeroDivisionError("internal detail 42")

    monkeypatch.setattr(shop.platform.recommendations, "serve", explode)
    r = shop.recoms(ds)
    assert not problem_failures(r, "recoms 500", 500)
    assert "internal detail" not in r.text and "ZeroDivisionError" not in r.text
    assert r.headers["ES-TOKEN"]


@pytest.fixture
def small_body_shop(tmp_path):
    settings = make_settings(f"sqlite:///{tmp_path / 'small.db'}", tmp_path, max_body_bytes=1024)
    platform = build_platform(settings)
    client = TestClient(create_app(platform=platform, background=False))
    yield Shop(client, platform)
    platform.close()


def test_a_json_body_over_the_limit_is_413(small_body_shop):
    shop = small_body_shop
    big = [{"GeneralInfo": {"eventName": "ProductPage", "cookies": {"sc": f"v{i}"}},
            "ProductPage": {"productKey": f"P{i}"}} for i in range(40)]
    r = shop.client.post("/api/v1/events", json=big, headers=shop.auth)
    assert not problem_failures(r, "events 413", 413)
    r = shop.client.post("/api/v1/auth/contact/token", json={"email": "a@b.test", "cookie": "x" * 2000},
                         headers=shop.auth)
    assert not problem_failures(r, "token 413", 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b"["
        for i in range(60):
            yield b'{"GeneralInfo": {"eventName": "MainPage", "cookies": {"sc": "v"}}, "MainPage": {}},'
        yield b"{}]"

    r = shop.client.post("/api/v1/events", content=chunks(), headers={**shop.auth, "Content-Type": "application/json"})
    assert not problem_failures(r, "chunked 413", 413)
    r = shop.client.post("/api/v2/tracking", json=big)
    assert not problem_failures(r, "tracking 413", 413)
    # Nothing of the refused batches was stored; a small body still works.
    assert shop.client.get("/api/v1/contacts", params={"cookie": "v1"}, headers=shop.auth).status_code == 404
    assert shop.events(big[:2])["accepted"] == 2


# --- operations -------------------------------------------------------------------------------


def test_health_readiness_and_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    client.get("/api/v1/nope")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "recoms_http_requests_total" in r.text
    healthz = [line for line in r.text.splitlines()
               if line.startswith("recoms_http_requests_total{") and 'route="/healthz"' in line and '"200"' in line]
    assert healthz and float(healthz[0].rsplit(" ", 1)[1]) >= 1


def test_docs_and_openapi(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    doc = client.get("/openapi.json").json()
    recoms = doc["paths"]["/api/v1/recoms/{dataSourceId}"]
    assert {"get", "post"} <= set(recoms)
    assert any(p["name"] == "ES-TOKEN" and p["in"] == "header" for p in recoms["get"]["parameters"])
    assert "/api/v2/contacts/recoms/{dataSourceId}" in doc["paths"]
    assert "post" in doc["paths"]["/api/v1/auth/contact/token"]
