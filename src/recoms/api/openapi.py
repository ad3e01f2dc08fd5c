"""The OpenAPI document tells the truth: who may call each operation, every status it can answer, each
error in the one problem+json shape, and the parts of a request the routes read by hand.

FastAPI builds the document from the routes' signatures, which say little here: most routes read their
body and some of their parameters themselves, authenticate in a dependency FastAPI does not see as
security, and answer errors through `problems.py`. `document` rewrites the built document once (app.py).
The statuses are derived per operation from what it does (authenticates, takes a path id, a body, uses
the store); the fuzz test (tests/fuzz) checks every answer against them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from copy import deepcopy
from typing import Any

from fastapi.routing import APIRoute

from recoms.api import routes
from recoms.api.middleware import RateBuckets
from recoms.api.problems import MEDIA_TYPE, TITLES
from recoms.api.routes import recoms
from recoms.catalog import READERS

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Key = tuple[str, str]  # (method, path as documented)

# --- components ---------------------------------------------------------------------------------

PROBLEM = {
    "type": "object",
    "description": "An error (RFC 9457). `message` repeats `detail`: the platform's clients log that field.",
    "required": ["type", "title", "status", "detail", "message"],
    "properties": {
        "type": {"type": "string", "example": "https://recoms.dev/problems/not-found"},
        "title": {"type": "string", "example": "Not found"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "example": 404},
        "detail": {"type": "string", "minLength": 1, "example": "data source 7 does not exist"},
        "message": {"type": "string", "minLength": 1, "example": "data source 7 does not exist"},
        "errors": {"type": "array", "description": "What is wrong, one entry per field or event", "items": {
            "type": "object",
            "properties": {"field": {"type": "string"}, "index": {"type": "integer"}, "reason": {"type": "string"}},
        }},
    },
    "additionalProperties": False,
}
PRODUCT = {
    "type": "object",
    "description": "A product: the mandatory fields, and every other feed field as `tags_<name>`.",
    "required": ["id", "name", "url", "price", "descr", "brand", "category", "isInStock"],
    "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "url": {"type": "string"},
        "price": {"type": "number"}, "descr": {"type": "string"}, "brand": {"type": "string"},
        "category": {"type": "array", "items": {"type": "string"}, "description": "the path, top to leaf"},
        "isInStock": {"type": "integer", "enum": [0, 1]},
    },
    "patternProperties": {"^tags_": {"type": "string"}},
    "additionalProperties": False,
    "example": {"id": "P10001", "name": "Mug", "url": "https://shop.example/p/P10001", "price": 9.9, "descr": "",
                "brand": "Acme", "category": ["Home", "Kitchen"], "isInStock": 1,
                "tags_image_link": "https://shop.example/i/P10001.jpg"},
}
SECURITY_SCHEMES = {
    "basicAuth": {"type": "http", "scheme": "basic", "description": (
        "An API key as the password of HTTP Basic auth, any user name (as the platform does); "
        "`Authorization: Bearer <key>` is accepted too. Each operation names the scopes it needs.")},
    "esToken": {"type": "apiKey", "in": "header", "name": "ES-TOKEN", "description": (
        "A single-use contact token from POST /api/v1/auth/contact/token; each response after it was "
        "accepted carries the next one in its own ES-TOKEN header.")},
    "retenoAccessKey": {"type": "apiKey", "in": "header", "name": "X-Reteno-Access-Key", "description": (
        "The mobile app's API key (scope `mobile`), as the Reteno SDK sends it.")},
    "siteKey": {"type": "apiKey", "in": "header", "name": "X-Site-Id", "description": (
        "The account's public site id: it may only write events (also accepted as `?siteId=`).")},
}
# The component name of each error response, and what it means wherever it appears.
ERRORS = {
    400: ("BadRequest", "The request is malformed: not JSON, wrong types, or missing what the operation needs."),
    401: ("Unauthorized", "No credentials, or unknown ones."),
    403: ("Forbidden", "The key lacks the scope, or the account's plan lacks the feature."),
    404: ("NotFound", "Nothing of this account has this id or identifier."),
    405: ("MethodNotAllowed", "The path does not take this method; `Allow` lists those it takes."),
    413: ("PayloadTooLarge", "The body is larger than the server takes (RECOMS_MAX_BODY_BYTES)."),
    415: ("UnsupportedMediaType", "The body's Content-Type is not one this operation reads."),
    422: ("ValidationFailed", "A parameter or the body is of the right type but not a valid value."),
    429: ("TooManyRequests", "Slow down: a rate limit of the key, site id or address was reached."),
    500: ("InternalError", "An unexpected error; it was logged, and the body carries no internals."),
    503: ("ServiceUnavailable", "The store does not answer; try again after Retry-After."),
}
STRING = {"type": "string"}
RETRY_AFTER = {"description": "Seconds to wait before trying again", "required": True,
               "schema": {"type": "integer", "minimum": 1}}
WWW_AUTHENTICATE = {"description": "How to authenticate: Basic", "required": True, "schema": STRING}
NEXT_TOKEN = {"description": "The next single-use token", "required": True, "schema": STRING}
METHOD_NOT_ALLOWED = (
    "\n\nErrors are `application/problem+json` (the `Problem` schema) with the statuses each operation lists. "
    "A method a path does not list is answered 405 with an `Allow` header naming those it does."
)


def _problem_response(status: int, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    description = ERRORS[status][1]
    schema = {"allOf": [{"$ref": "#/components/schemas/Problem"},
                        {"properties": {"status": {"const": status}, "title": {"const": TITLES[status]}}}]}
    response: dict[str, Any] = {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error_components() -> dict[str, Any]:
    headers = {401: {"WWW-Authenticate": WWW_AUTHENTICATE}, 405: {"Allow": {"required": True, "schema": STRING}},
               429: {"Retry-After": RETRY_AFTER}, 503: {"Retry-After": RETRY_AFTER}}
    return {ERRORS[status][0]: _problem_response(status, headers.get(status)) for status in ERRORS}


# --- what the routes do that FastAPI does not see ---------------------------------------------------

TOKEN_ROUTE = recoms.ROUTE
# Operations anyone may call that do not touch the store (no 503).
NO_STORE = {("get", "/healthz"), ("get", "/metrics"), ("get", "/tracker.js"), ("post", "/logs/v1/plugin")}
# A query that names a contact looks it up: 404 when none matches.
CONTACT_LOOKUP = {"externalCustomerId", "email", "phone", "userPseudoId", "cookie"}
# Bodies the domain validates with 422 naming the field (beyond 400 for what is not JSON).
DOMAIN_VALIDATED = {("post", "/api/v1/datasources"), ("put", "/api/v1/datasources/{ds_id}")}
UNSUPPORTED_MEDIA = {("post", "/api/v1/feeds")}
# Tracker routes: the site id in the body (or ?siteId=) or, from a shop's server, its API key.
OPTIONAL_KEY = {("post", "/api/v2/tracking"), ("post", "/api/v2")}
MANUAL_SECURITY: dict[Key, list[dict[str, list]]] = {
    ("get", TOKEN_ROUTE): [{"esToken": []}],
    ("post", TOKEN_ROUTE): [{"esToken": []}],
    ("post", "/api/v1/mobile/events"): [{"basicAuth": []}, {"siteKey": []}],
    **{key: [{}, {"basicAuth": []}] for key in OPTIONAL_KEY},
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


SITE_ID_QUERY = _query("siteId", STRING, "The public site id for events that do not carry GeneralInfo.siteId")
DEVICE_HEADER = {"name": "X-Reteno-Device-ID", "in": "header", "required": False, "schema": STRING,
                 "description": "The app's device id (the SDK sends it)"}
CONTACT_IDS = {name: STRING for name in ("externalCustomerId", "email", "phone")}
# Parameters and bodies the routes read from the raw request.
EXTRA_PARAMETERS: dict[Key, list[dict[str, Any]]] = {
    ("post", "/api/v1/feeds"): [
        _query("mode", {"type": "string", "enum": ["full", "partial"], "default": "full"},
               "full: products the feed omits become unavailable; partial: only the given ones change"),
        _query("format", {"type": "string", "enum": sorted(READERS)}, "The feed's format (detected when absent)"),
    ],
    ("post", "/api/v2/tracking"): [SITE_ID_QUERY],
    ("post", "/api/v2"): [SITE_ID_QUERY],
    ("post", "/api/v1/mobile/events"): [_query("siteId", STRING, "The site key, when not in X-Site-Id")],
    ("delete", "/api/v1/contact"): [
        *(_query(name, schema, "names the contact") for name, schema in CONTACT_IDS.items()),
        _query("erase", {"type": "boolean", "default": False}, "true: forget the contact and its history"),
    ],
    ("get", "/api/v1/site/script"): [_query("domain", STRING, "The shop's domain (accepted, not needed)")],
    ("get", TOKEN_ROUTE): [_query("categories", {"type": "array", "items": STRING}, "An alias of category")],
    ("post", "/api/v1/recoms/{recomVariantId}/request"): [DEVICE_HEADER],
    ("post", "/api/v1/recoms/events"): [DEVICE_HEADER],
}


def _json_body(schema: dict[str, Any], example: Any, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema, "example": example}}}


EXTRA_BODIES: dict[Key, dict[str, Any]] = {
    ("post", "/api/v1/site/webpush/domain"): _json_body(
        {"type": "object", "properties": {"domain": STRING}}, {"domain": "shop.example.com"}),
    ("post", "/api/v1/site/webpush/domains"): _json_body(
        {"type": "object", "properties": {"domains": {"type": "array", "items": {
            "type": "object", "properties": {"domain": STRING}}}}}, {"domains": [{"domain": "shop.example.com"}]}),
    # OpenCart's older client sends the identifiers as a body instead of the query.
    ("delete", "/api/v1/contact"): _json_body(
        {"type": "object", "properties": {**CONTACT_IDS, "erase": {"type": "boolean"}}},
        {"email": "anna@example.com"}, required=False),
}
# Top-level schemas for bodies documented by example only (the routes check the rest, item by item).
BODY_SCHEMAS: dict[Key, dict[str, Any]] = {
    ("post", "/api/v1/contact"): {"type": "object"},
    ("post", "/api/v1/contacts"): {"type": "object", "required": ["contacts"], "properties": {
        "contacts": {"type": "array", "items": {"type": "object"}}, "dedupeOn": STRING}},
    ("post", "/api/v1/orders"): {"type": "object", "required": ["orders"], "properties": {
        "orders": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "object"}}}},
    ("post", "/api/v1/mobile/events"): {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]},
    ("post", "/api/v1/site/domains"): {"type": "object", "required": ["domain"], "properties": {"domain": STRING}},
}

PRODUCTS = {"type": "array", "items": {"$ref": "#/components/schemas/Product"}}
PRODUCTS_EXAMPLE = [PRODUCT["example"]]


def _content(media_type: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"schema": schema}
    if example is not None:
        entry["example"] = example
    return {media_type: entry}


# Success bodies of routes that answer a raw Response (FastAPI cannot know their shape).
SUCCESS: dict[Key, dict[str, Any]] = {
    ("get", TOKEN_ROUTE): _content("application/json", PRODUCTS, PRODUCTS_EXAMPLE),
    ("post", TOKEN_ROUTE): _content("application/json", PRODUCTS, PRODUCTS_EXAMPLE),
    ("get", "/api/v2/contacts/recoms/{dataSourceId}"): _content("application/json", PRODUCTS, PRODUCTS_EXAMPLE),
    ("get", "/api/v1/products/{product_id}"): _content("application/json", {"$ref": "#/components/schemas/Product"}),
    ("post", "/api/v1/recoms/{recomVariantId}/request"): _content(
        "application/json",
        {"type": "object", "required": ["recoms"], "properties": {"recoms": {"type": "array", "items": {
            "type": "object", "required": ["productId"], "properties": {"productId": STRING}}}}},
        {"recoms": [{"productId": "P1", "name": "Mug", "price": 9.9, "imageUrl": "https://shop.example/i/P1.jpg"}]}),
    ("get", "/tracker.js"): _content("application/javascript", STRING),
    ("get", "/scripts/{site_id}.js"): _content("application/javascript", STRING),
    ("get", "/metrics"): _content("text/plain", STRING),
    # The platform answers an empty body (no Content-Type) when every order was stored: OpenAPI cannot say
    # "maybe empty", so the JSON of the other case is described, not declared.
    ("post", "/api/v1/orders"): {},
}
SUCCESS_NOTES = {("post", "/api/v1/orders"): (
    "Empty (no Content-Type) when every order was stored; else `application/json` "
    '`{"failedOrders": [{...the order, "errorMessage": "..."}]}`.')}


# --- derivation ---------------------------------------------------------------------------------------


def _scope_names(dependant: Any) -> Iterator[tuple[str, ...]]:
    """The scopes of `deps.scope(...)` dependencies (the closure's `names`), however deeply nested."""
    for sub in dependant.dependencies:
        call = sub.call
        if getattr(call, "__qualname__", "").startswith("scope.<locals>."):
            names = inspect.getclosurevars(call).nonlocals.get("names")
            if names:
                yield tuple(names)
        yield from _scope_names(sub)


def route_scopes() -> dict[Key, tuple[str, ...]]:
    """(method, path) -> the scopes an API key needs, for every route that authenticates with a key."""
    found: dict[Key, tuple[str, ...]] = {}
    for module in routes.ALL:
        for route in module.router.routes:
            if not isinstance(route, APIRoute):
                continue
            names = tuple(n for group in _scope_names(route.dependant) for n in group)
            if names:
                for method in route.methods:
                    found[(method.lower(), route.path_format)] = names
    return found


def _security(key: Key, scopes: tuple[str, ...] | None, protect_docs: bool) -> list[dict[str, list]] | None:
    if key in MANUAL_SECURITY:
        return deepcopy(MANUAL_SECURITY[key])
    if scopes:
        # The SDK's header works on every keyed route; it is the mobile key's way in.
        return [{"retenoAccessKey": []}, {"basicAuth": []}] if "mobile" in scopes else [{"basicAuth": []}]
    if protect_docs and key == ("get", "/metrics"):
        return [{"basicAuth": []}]
    return None


def _fails_validation(parameter: dict[str, Any]) -> bool:
    """Whether FastAPI can refuse a value of this parameter (422): required, typed or constrained."""
    if parameter.get("required") and parameter["in"] != "path":
        return True
    schema = parameter.get("schema", {})
    for option in schema.get("anyOf", [schema]):
        kind = option.get("type")
        if kind == "array":
            option = option.get("items", {})
            kind = option.get("type")
        if kind not in ("string", "null", None) or set(option) & {"enum", "pattern", "minLength", "maxLength"}:
            return True
    return False


def _statuses(key: Key, op: dict[str, Any], security: list[dict] | None, fastapi_params: list[dict]) -> set[int]:
    statuses = {500}
    has_body = "requestBody" in op
    params = op.get("parameters", [])
    if security:
        statuses |= {401, 403}
        if any(set(alternative) & {"basicAuth", "retenoAccessKey", "siteKey"} for alternative in security):
            statuses.add(429)  # per key and per site limits, and an address that sent too many wrong keys
    if key[1] in RateBuckets.PATHS:
        statuses.add(429)
    query = {p["name"] for p in params if p["in"] == "query"}
    if any(p["in"] == "path" for p in params) or query & CONTACT_LOOKUP:
        statuses.add(404)
    if has_body or params:
        statuses.add(400)  # the routes check what they read; a NUL byte anywhere in the URL is refused
    if has_body:
        statuses.add(413)
    if key in DOMAIN_VALIDATED or any(_fails_validation(p) for p in fastapi_params):
        statuses.add(422)
    if key in UNSUPPORTED_MEDIA:
        statuses.add(415)
    if not (key in NO_STORE and not security):
        statuses.add(503)
    if key[1] == TOKEN_ROUTE:
        statuses.discard(422)  # the lean handler reads a bad id as an unknown one (404)
    return statuses


def _describe_success(key: Key, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    for status, response in responses.items():
        if not status.startswith("2") or key not in SUCCESS:
            continue
        content = deepcopy(SUCCESS[key])
        for media_type, entry in response.get("content", {}).items():
            if media_type in content and "example" in entry and "example" not in content[media_type]:
                content[media_type]["example"] = entry["example"]
        if content:
            response["content"] = content
        else:
            response.pop("content", None)
        if key in SUCCESS_NOTES:
            response["description"] = SUCCESS_NOTES[key]
        if key[1] == TOKEN_ROUTE:
            response["headers"] = {"ES-TOKEN": NEXT_TOKEN}


def _describe_errors(key: Key, op: dict[str, Any], statuses: set[int]) -> None:
    responses = op.setdefault("responses", {})
    for status in list(responses):
        if status[0] in "45":
            del responses[status]  # FastAPI's 422 is another shape; hand-written ones lack the schema
    for status in sorted(statuses):
        if key[1] == TOKEN_ROUTE:
            responses[str(status)] = _token_route_error(status)
        else:
            responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}


def _token_route_error(status: int) -> dict[str, Any]:
    """The ES-TOKEN route: once the token was accepted, every answer carries the next one."""
    headers: dict[str, Any] = {}
    if status in (403, 404):  # these only happen after the token was accepted
        headers["ES-TOKEN"] = NEXT_TOKEN
    elif status in (400, 401, 413, 500):  # after it, or before (a NUL byte in the URL, a body over the limit)
        headers["ES-TOKEN"] = {**NEXT_TOKEN, "required": False}
    if status in (429, 503):
        headers["Retry-After"] = RETRY_AFTER
    response = _problem_response(status, headers)
    if status == 401:
        response["description"] = "Missing, unknown, expired or already used token: get a new one."
    return response


def _describe_security(op: dict[str, Any], security: list[dict] | None, scopes: tuple[str, ...] | None) -> None:
    if not security:
        op.pop("security", None)
        return
    op["security"] = security
    if scopes:
        needed = " or ".join(f"`{s}`" for s in scopes)
        note = f"API key scope: {needed} (`admin` holds every scope)."
        op["description"] = f"{op['description']}\n\n{note}" if op.get("description") else note


def _add_extras(key: Key, op: dict[str, Any]) -> None:
    if key in EXTRA_PARAMETERS:
        known = {(p["name"], p["in"]) for p in op.get("parameters", [])}
        extra = [deepcopy(p) for p in EXTRA_PARAMETERS[key] if (p["name"], p["in"]) not in known]
        op["parameters"] = [*op.get("parameters", []), *extra]
    if key in EXTRA_BODIES and "requestBody" not in op:
        op["requestBody"] = deepcopy(EXTRA_BODIES[key])
    if key in BODY_SCHEMAS:
        for entry in op.get("requestBody", {}).get("content", {}).values():
            entry.setdefault("schema", deepcopy(BODY_SCHEMAS[key]))


def _drop_unreferenced(schema: dict[str, Any]) -> None:
    """FastAPI's validation-error models are no longer used by any response."""
    text = repr(schema["paths"])
    schemas = schema["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)


def document(schema: dict[str, Any], protect_docs: bool = False) -> dict[str, Any]:
    """The built document, made truthful. `protect_docs`: /metrics (like /docs) needs an API key."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update({"Problem": deepcopy(PROBLEM), "Product": deepcopy(PRODUCT)})
    components["securitySchemes"] = deepcopy(SECURITY_SCHEMES)
    components["responses"] = _error_components()
    info = schema.setdefault("info", {})
    info["description"] = info.get("description", "") + METHOD_NOT_ALLOWED
    scopes = route_scopes()
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            key = (method, path)
            op["responses"] = deepcopy(op.get("responses", {}))  # the lean route's GET and POST share theirs
            fastapi_params = [] if path == TOKEN_ROUTE else list(op.get("parameters", []))
            security = _security(key, scopes.get(key), protect_docs)
            _describe_security(op, security, scopes.get(key))
            _add_extras(key, op)
            _describe_success(key, op)
            _describe_errors(key, op, _statuses(key, op, security, fastapi_params))
    _drop_unreferenced(schema)
    return schema
