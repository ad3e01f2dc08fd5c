"""The two recommendation endpoints (SPEC §2).

`/api/v1/recoms/{dataSourceId}` is the hot path: a lean Starlette handler (no dependency injection, no
response model) that exchanges the ES-TOKEN, scores from memory and joins ready JSON fragments. From
the moment the token is accepted, every response carries the next token, errors included.
"""

from __future__ import annotations

import logging
import time

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.responses import Response

from recoms.api.deps import MAX_ID, PlatformDep, RecomsRead
from recoms.api.middleware import LATENCY, REQUESTS
from recoms.api.problems import from_error, problem, unexpected
from recoms.domain import identity
from recoms.errors import BadRequest, NotFound, PayloadTooLarge, RecomsError
from recoms.services.contacts import resolve_contact
from recoms.services.platform import Platform
from recoms.services.recoms import parse_body, parse_query

log = logging.getLogger(__name__)
JSON = "application/json"
ROUTE = "/api/v1/recoms/{dataSourceId}"


def _array(fragments: list[bytes]) -> bytes:
    return b"[" + b",".join(fragments) + b"]"


def _ds_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"data source {raw!r} does not exist")
    return int(raw)


PREFIX = "/api/v1/recoms/"
# Under the same prefix, served by the framework: the mobile SDK's calls.
MOBILE_ROUTES = ("events",)


def is_token_route(path: str) -> bool:
    """`/api/v1/recoms/{id}`: the ES-TOKEN route (not `/api/v1/recoms/events` or `/{id}/request`)."""
    if not path.startswith(PREFIX):
        return False
    rest = path[len(PREFIX):]
    return "/" not in rest and rest not in MOBILE_ROUTES


class RecomsFastPath:
    """Answers `/api/v1/recoms/{id}` before the framework stack (measured: it costs as much as scoring).

    Installed as the outermost middleware; every other request passes through untouched.
    """

    def __init__(self, app, platform: Platform, max_body_bytes: int) -> None:
        self.app = app
        self.platform = platform
        self.max_body = max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not is_token_route(scope["path"]):
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        if scope["method"] in ("GET", "POST"):
            response = await self.handle(scope, receive)
        else:
            response = problem(405, f"{scope['method']} is not allowed here: use GET or POST",
                               headers={"Allow": "GET, POST"})
        await response(scope, receive, send)
        REQUESTS.labels(scope["method"], ROUTE, str(response.status_code)).inc()
        LATENCY.labels(ROUTE).observe(time.perf_counter() - started)

    async def _body(self, receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge(f"the body is larger than {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def handle(self, scope, receive) -> Response:
        platform = self.platform
        token = next((v for k, v in scope["headers"] if k == b"es-token"), None)
        if not token:
            return problem(401, "the ES-TOKEN header is missing: get a token from /api/v1/auth/contact/token")
        try:
            exchanged = platform.ctx.tokens.exchange(token.decode("latin-1")) if len(token) <= 256 else None
        except Exception as exc:  # the token store does not answer: 503, and the token was not spent
            return unexpected(exc, "token exchange")
        if exchanged is None:
            return problem(401, "the ES-TOKEN is unknown, expired or already used: get a new one")
        grant, next_token = exchanged
        headers = {"ES-TOKEN": next_token, "Access-Control-Expose-Headers": "ES-TOKEN"}
        try:
            ds_id = _ds_id(scope["path"][len(PREFIX):])
            account = platform.directory.account(grant.account_id)
            query = QueryParams(scope["query_string"])
            if scope["method"] == "POST":
                raw = await self._body(receive)
                try:
                    req = parse_body(orjson.loads(raw)) if raw else parse_query(query)
                except orjson.JSONDecodeError as exc:
                    raise BadRequest(f"the body is not valid JSON: {exc}") from None
            else:
                req = parse_query(query)
            fragments = platform.recommendations.serve(account, ds_id, grant.contact_id, req)
            return Response(_array(fragments), media_type=JSON, headers=headers)
        except RecomsError as exc:
            return from_error(exc, headers) if exc.status != 401 else problem(401, exc.detail, headers=headers)
        except Exception as exc:
            return unexpected(exc, "recommendations", headers)


router = APIRouter(tags=["recommendations"])

V2_IDS = ("externalCustomerId", "email", "phone", "contactId", "webId")


@router.get(
    "/api/v2/contacts/recoms/{dataSourceId}",
    summary="Recommendations for a contact, server to server (API key, no token)",
    response_class=Response,
    responses={200: {"content": {JSON: {"example": [{"id": "P1", "name": "…", "price": 9.9}]}}}},
)
async def recoms_v2(
    request: Request, dataSourceId: str, caller: RecomsRead, platform: PlatformDep,
    externalCustomerId: str | None = None, email: str | None = None, phone: str | None = None,
    contactId: int | None = Query(default=None, ge=1, le=MAX_ID), webId: str | None = None,
    products: list[str] = Query(default=[]), category: list[str] = Query(default=[]),
) -> Response:
    ds_id = _ds_id(dataSourceId)
    req = parse_query(request.query_params)
    fields = {"externalCustomerId": externalCustomerId, "email": email, "phone": phone, "webId": webId}
    try:
        ids = identity.from_fields(fields)
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc)) from None
    contact_id = contactId
    if contact_id is None and ids:
        contact_id = await run_in_threadpool(resolve_contact, platform.engine, caller.account.id, ids, False)
    fragments = platform.recommendations.serve(caller.account, ds_id, contact_id, req)
    return Response(_array(fragments), media_type=JSON)


OPENAPI_V1 = {
    "summary": "Recommendations for the app's contact (ES-TOKEN, single use)",
    "tags": ["mobile flow"],
    "parameters": [
        {"name": "dataSourceId", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "ES-TOKEN", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "products", "in": "query", "schema": {"type": "array", "items": {"type": "string"}},
         "description": "repeated or comma-joined product ids"},
        {"name": "category", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
    ],
    "responses": {
        "200": {"description": "products, best first; the next token in the ES-TOKEN header",
                "headers": {"ES-TOKEN": {"schema": {"type": "string"}}},
                "content": {JSON: {"schema": {"type": "array", "items": {"type": "object"}}}}},
        "401": {"description": "missing, unknown, expired or used token: get a new one"},
        "400": {"description": "the algorithm needs products or a category"},
        "403": {"description": "the plan has no recommendations"},
        "404": {"description": "unknown data source"},
    },
}


def document(schema: dict) -> dict:
    """Describe the lean route in the OpenAPI document FastAPI builds for the rest."""
    path = schema.setdefault("paths", {}).setdefault("/api/v1/recoms/{dataSourceId}", {})
    path["get"] = {**OPENAPI_V1, "operationId": "recoms_v1_get"}
    path["post"] = {
        **OPENAPI_V1, "operationId": "recoms_v1_post",
        "requestBody": {"content": {JSON: {"schema": {"type": "object", "properties": {
            "products": {"type": "array", "items": {"type": "string"}},
            "category": {"type": "array", "items": {"type": "string"}},
            "filters": {"type": "array", "items": {"type": "object"}}}}}}},
    }
    return schema
