"""The OpenAPI document tells the truth (src/recoms/api/openapi.py): who may call each operation, the
statuses it answers with the one problem shape, the parameters and bodies the routes read by hand, and
examples that validate. What the routes answer to generated requests is checked by tests/fuzz."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from fastapi.testclient import TestClient

from recoms.api import routes
from recoms.api.app import create_app
from recoms.services.platform import build_platform
from tests.conftest import make_settings

PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch")
PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"), ("get", "/tracker.js"),
          ("get", "/scripts/{site_id}.js"), ("post", "/logs/v1/plugin")}
MOBILE_SDK = {("post", "/api/v1/recoms/{recomVariantId}/request"), ("post", "/api/v1/recoms/events"),
              ("post", "/api/v1/device"), ("post", "/api/v1/user")}
TOKEN_ROUTE = "/api/v1/recoms/{dataSourceId}"


@pytest.fixture(scope="module")
def doc(client) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, *parts = node["$ref"].split("/")
        node = doc
        for part in parts:
            node = node[part]
    return node


def schemes_of(op: dict[str, Any]) -> set[str]:
    return {name for alternative in op.get("security", []) for name in alternative}


def test_the_document_is_valid_openapi(doc):
    schemathesis.openapi.from_dict(doc).validate()
    assert doc["openapi"].startswith("3.1")


def test_security_schemes_are_declared(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {**schemes["basicAuth"], "type": "http", "scheme": "basic"}
    assert schemes["esToken"] == {**schemes["esToken"], "type": "apiKey", "in": "header", "name": "ES-TOKEN"}
    assert schemes["retenoAccessKey"] == {**schemes["retenoAccessKey"], "type": "apiKey", "in": "header",
                                          "name": "X-Reteno-Access-Key"}
    for method in ("get", "post"):
        assert doc["paths"][TOKEN_ROUTE][method]["security"] == [{"esToken": []}]
    for method, path in MOBILE_SDK:
        assert "retenoAccessKey" in schemes_of(doc["paths"][path][method]), path
    for method, path in PUBLIC:
        assert "security" not in doc["paths"][path][method], path
    # The tracker takes the site id in the body, or a shop server's key: the key is optional there.
    assert doc["paths"]["/api/v2/tracking"]["post"]["security"] == [{}, {"basicAuth": []}]
    used = {name for _, _, op in operations(doc) for name in schemes_of(op)}
    assert used <= set(schemes)


def test_every_route_with_a_key_dependency_declares_it(doc):
    from recoms.api.openapi import route_scopes  # here: the other tests also run against older code

    scopes = route_scopes()
    assert scopes[("post", "/api/v1/auth/contact/token")] == ("contacts:token",)
    for (method, path), names in scopes.items():
        if path not in doc["paths"]:
            continue  # a page, not part of the API (include_in_schema=False)
        op = doc["paths"][path][method]
        assert "basicAuth" in schemes_of(op), (method, path)
        assert all(name in op["description"] for name in names), (method, path, op.get("description"))


def test_security_matches_what_the_routes_do(client, doc):
    """No credentials: 401 exactly where the document says a credential is required."""
    plain = TestClient(client.app, raise_server_exceptions=False)
    wrong = []
    for method, path, op in operations(doc):
        url = re.sub(r"\{[^}]+\}", "1", path)
        body = {"json": {}} if "requestBody" in op else {}
        r = plain.request(method.upper(), url, **body)
        required = "security" in op and {} not in op["security"]
        if (r.status_code == 401) != required:
            wrong.append(f"{method.upper()} {path}: {r.status_code} without credentials, security "
                         f"{op.get('security')}")
        if "basicAuth" in schemes_of(op):
            r = plain.request(method.upper(), url, headers={"Authorization": "Basic Zm9vOmJhcg=="}, **body)
            if r.status_code != 401:
                wrong.append(f"{method.upper()} {path}: {r.status_code} with an unknown key")
    assert not wrong, "\n".join(wrong)


def test_every_error_is_documented_as_a_problem(doc):
    assert doc["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail", "message"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for method, path, op in operations(doc):
        statuses = {int(s) for s in op["responses"]}
        assert 500 in statuses, (method, path)
        if "security" in op:
            assert {401, 403} <= statuses, (method, path)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert 404 in statuses, (method, path)
        if "requestBody" in op:
            assert {400, 413} <= statuses, (method, path)
        for status, response in op["responses"].items():
            if status[0] in "45":
                content = resolve(doc, response)["content"]
                assert list(content) == [PROBLEM], (method, path, status)
                assert "#/components/schemas/Problem" in repr(content[PROBLEM]["schema"]), (method, path, status)


def test_statuses_follow_what_each_operation_does(doc):
    paths = doc["paths"]
    # Rate limits: the tracker, and wherever a key is checked (per key, and wrong keys per address).
    assert "429" in paths["/api/v2/tracking"]["post"]["responses"]
    assert "429" in paths["/api/v1/datasources"]["get"]["responses"]
    assert "429" not in paths["/healthz"]["get"]["responses"]
    # The store: everywhere but the process' own answers.
    assert "503" in paths["/readyz"]["get"]["responses"]
    assert "503" not in paths["/healthz"]["get"]["responses"]
    assert "415" in paths["/api/v1/feeds"]["post"]["responses"]
    # FastAPI refuses a typed id with 422; the lean ES-TOKEN route reads a bad id as an unknown one (404).
    assert "422" in paths["/api/v1/datasources/{ds_id}"]["get"]["responses"]
    assert "422" not in paths[TOKEN_ROUTE]["get"]["responses"]
    assert "413" not in paths[TOKEN_ROUTE]["get"]["responses"] and "413" in paths[TOKEN_ROUTE]["post"]["responses"]
    # Once the token is accepted, every answer carries the next one.
    for status in ("200", "403", "404"):
        assert paths[TOKEN_ROUTE]["get"]["responses"][status]["headers"]["ES-TOKEN"]["required"] is True
    assert paths[TOKEN_ROUTE]["get"]["responses"]["401"]["headers"]["ES-TOKEN"]["required"] is False
    assert "WWW-Authenticate" not in paths[TOKEN_ROUTE]["get"]["responses"]["401"]["headers"]
    unauthorized = resolve(doc, paths["/api/v1/datasources"]["get"]["responses"]["401"])
    assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True


def test_a_method_a_path_lacks_is_405_and_the_document_says_so(client, doc):
    assert "405" in doc["info"]["description"] and "Allow" in doc["info"]["description"]
    assert doc["components"]["responses"]["MethodNotAllowed"]["headers"]["Allow"]["required"] is True
    plain = TestClient(client.app, raise_server_exceptions=False)
    for path in doc["paths"]:
        r = plain.patch(re.sub(r"\{[^}]+\}", "1", path), json={})
        assert r.status_code == 405 and r.headers["allow"] and r.headers["content-type"] == PROBLEM, path


def test_success_bodies_are_described(doc):
    paths = doc["paths"]
    product = {"$ref": "#/components/schemas/Product"}
    assert paths[TOKEN_ROUTE]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"] == product
    assert paths["/api/v1/products/{product_id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] == product
    assert list(paths["/tracker.js"]["get"]["responses"]["200"]["content"]) == ["application/javascript"]
    assert list(paths["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    # Empty when every order was stored (no Content-Type): described, not declared.
    assert "content" not in paths["/api/v1/orders"]["post"]["responses"]["200"]


def _examples(node: Any, where: str = "") -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(where, example, its schema) for every example in the document: media types, parameters, schemas."""
    if isinstance(node, dict):
        if "schema" in node:
            for name, example in node.get("examples", {}).items():
                yield f"{where}/examples/{name}", example.get("value"), node["schema"]
            if "example" in node:
                yield f"{where}/example", node["example"], node["schema"]
        elif "example" in node and set(node) & {"type", "properties", "items", "$ref", "allOf", "oneOf", "anyOf"}:
            yield f"{where}/example", node["example"], {k: v for k, v in node.items() if k != "example"}
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _examples(value, f"{where}/{i}")


def test_every_example_validates_against_its_schema(doc):
    found, wrong = 0, []
    for where, example, schema in _examples(doc["paths"]):
        found += 1
        validator = jsonschema_rs.validator_for({**schema, "components": doc["components"]})
        for error in validator.iter_errors(example):
            wrong.append(f"{where}: {error.message}")
    for name, schema in doc["components"]["schemas"].items():
        for where, example, sub in _examples(schema, f"#/components/schemas/{name}"):
            found += 1
            validator = jsonschema_rs.validator_for({**sub, "components": doc["components"]})
            wrong += [f"{where}: {error.message}" for error in validator.iter_errors(example)]
    assert found >= 15 and not wrong, "\n".join(wrong)


def test_every_example_has_a_schema(doc):
    for method, path, op in operations(doc):
        for media_type, entry in op.get("requestBody", {}).get("content", {}).items():
            if "example" in entry:
                assert entry.get("schema"), (method, path, media_type)


def test_what_the_routes_read_by_hand_is_documented(doc):
    """A body read from the raw request is a documented body; a query parameter or header read by name is a
    documented parameter (or a security scheme) of some operation of that module."""
    schemes = {s["name"].lower() for s in doc["components"]["securitySchemes"].values() if "name" in s}
    missing = []
    for module in routes.ALL:
        source = inspect.getsource(module)
        api = [route for route in module.router.routes if route.path_format in doc["paths"]]
        if not api:
            continue  # pages (docs, console): not part of the API
        documented = {p["name"].lower() for route in api for method in route.methods
                      for p in doc["paths"][route.path_format][method.lower()].get("parameters", [])}
        for name in re.findall(r'query_params\.get\("([^"]+)"', source):
            if name.lower() not in documented:
                missing.append(f"{module.__name__}: query {name}")
        for name in re.findall(r'headers\.get\("([^"]+)"', source) + re.findall(r'_HEADER = "([^"]+)"', source):
            if name.lower() not in documented | schemes | {"content-type", "authorization"}:
                missing.append(f"{module.__name__}: header {name}")
        for route in api:
            body = inspect.getsource(route.endpoint)
            if re.search(r"\bjson_body\(|\b_json\(|request\.(body|form|stream)\(", body):
                for method in route.methods:
                    if "requestBody" not in doc["paths"][route.path_format][method.lower()]:
                        missing.append(f"{method} {route.path_format}: reads a body it does not document")
    assert not missing, "\n".join(missing)


def test_metrics_behind_a_key_is_documented_so(tmp_path):
    platform = build_platform(make_settings(f"sqlite:///{tmp_path}/d.db", tmp_path, protect_docs=True))
    doc = create_app(platform=platform, background=False).openapi()
    metrics = doc["paths"]["/metrics"]["get"]
    assert metrics["security"] == [{"basicAuth": []}] and {"401", "503"} <= set(metrics["responses"])
    platform.close()
