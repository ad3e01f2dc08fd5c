"""The two recommendation endpoints (SPEC §2).

`/api/v1/recoms/{dataSourceId}` is the hot path: a plain Starlette route (no dependency injection, no
response model: measured, FastAPI's route machinery costs as much as scoring) that hands the request to
one service call and answers its bytes. The app answers it, and v2, ahead of its own layers
(api/hot_path.py), through the same edge middleware as every other route: the body limit, CORS, metrics
and the security headers.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from recoms.api.deps import MAX_ID, authenticate, scope
from recoms.api.lean import LeanRoute
from recoms.api.problems import from_error, problem, unexpected
from recoms.domain import identity
from recoms.errors import BadRequest, Invalid, RecomsError
from recoms.services.attribution import RECOMMENDATION_ID_HEADER
from recoms.services.recoms import QueryLists, datasource_id

log = logging.getLogger(__name__)
JSON = "application/json"
EXPOSED = f"ES-TOKEN, {RECOMMENDATION_ID_HEADER}"
ROUTE = "/api/v1/recoms/{dataSourceId}"


PREFIX = "/api/v1/recoms/"
# Under the same prefix, served by other routes: the mobile SDK's calls.
MOBILE_ROUTES = ("events",)


def is_token_route(path: str) -> bool:
    """`/api/v1/recoms/{id}`: the ES-TOKEN route (not `/api/v1/recoms/events` or `/{id}/request`)."""
    if not path.startswith(PREFIX):
        return False
    rest = path[len(PREFIX):]
    return bool(rest) and "/" not in rest and rest not in MOBILE_ROUTES


class TokenEndpoint:
    """The ES-TOKEN route's ASGI app: GET (query) or POST (JSON body) with the ES-TOKEN header; the next
    token in the ES-TOKEN header. It reads the scope and writes its two messages itself: a Request and a
    Response object per call cost as much as a reused answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        platform = scope["app"].state.platform
        token = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"es-token"), None)
        body = await Request(scope, receive).body() if scope["method"] == "POST" else None
        try:
            answer = await platform.recommendations.by_token(
                token, scope["path_params"]["dataSourceId"], scope["query_string"], body)
        except Exception as exc:  # the token store does not answer: 503, and the token was not spent
            return await unexpected(exc, "token exchange")(scope, receive, send)
        error = answer.error
        if error is None:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(answer.body)).encode()),
                (b"es-token", answer.next_token.encode()), EXPOSE,
                (RECOMMENDATION_ID_BYTES, answer.recommendation_id.encode())]})
            return await send({"type": "http.response.body", "body": answer.body})
        # The next token is for the page too (CORS adds this only to cross-origin calls).
        headers = None
        if answer.next_token:
            headers = {"ES-TOKEN": answer.next_token, "Access-Control-Expose-Headers": EXPOSED}
        if isinstance(error, RecomsError):
            # A token problem is no Basic-auth challenge: the app gets a new token from its server instead.
            response = problem(401, error.detail, headers=headers) if error.status == 401 else (
                from_error(error, headers))
        else:
            response = unexpected(error, "recommendations", headers)
        await response(scope, receive, send)


EXPOSE = (b"access-control-expose-headers", EXPOSED.encode())
RECOMMENDATION_ID_BYTES = RECOMMENDATION_ID_HEADER.lower().encode()


class DataSourceSegment(Convertor[str]):
    """Any path segment but `events`: `/api/v1/recoms/events` (the mobile SDK's) goes on to its own route,
    while a wrong id still reaches the token route (a 404 that carries the next token)."""

    regex = r"(?!events$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("datasource", DataSourceSegment())
token_route = Route("/api/v1/recoms/{dataSourceId:datasource}", TokenEndpoint(), methods=["GET", "POST"],
                    name="recoms_v1")


router = APIRouter(tags=["recommendations"])

V2_IDS = ("externalCustomerId", "email", "phone", "contactId", "webId")


V2_SCOPE = "recoms:read"


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


V2_PARAMETERS = [
    {"name": "dataSourceId", "in": "path", "required": True, "schema": {"type": "integer"}},
    *(_query(name, {"type": "string"}, "identifies the contact (the strongest verified identifier wins)")
      for name in ("externalCustomerId", "email", "phone", "webId")),
    _query("contactId", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "recoms' own contact id"),
    _query("products", {"type": "array", "items": {"type": "string"}}, "repeated or comma-joined product ids"),
    _query("category", {"type": "array", "items": {"type": "string"}}, "repeated or comma-joined categories"),
]


def _contact_id(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = raw.strip()
    if not value.isdigit() or len(value) > 19 or not 1 <= int(value) <= MAX_ID:
        raise Invalid("the request does not match the schema", [
            {"field": "query.contactId", "reason": f"an integer from 1 to {MAX_ID} is expected"}])
    return int(value)


async def recoms_v2(request: Request) -> Response:
    """The contact's recommendations for a shop's server: named by an identifier or recoms' contact id."""
    platform = request.app.state.platform
    caller = authenticate(request, V2_SCOPE)
    params = QueryLists(request.scope["query_string"])
    ds_id = datasource_id(request.path_params["dataSourceId"])
    contact_id = _contact_id(params.get("contactId"))
    req = platform.recommendations.queries.parse(request.scope["query_string"])
    try:
        ids = identity.from_fields({name: params.get(name) for name in V2_IDS})
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc)) from None
    body, recommendation_id = await platform.recommendations.for_contact(caller.account, ds_id, contact_id, ids, req)
    return Response(body, media_type=JSON, headers={RECOMMENDATION_ID_HEADER: recommendation_id})


router.add_api_route(
    "/api/v2/contacts/recoms/{dataSourceId}", recoms_v2, methods=["GET"], route_class_override=LeanRoute,
    dependencies=[scope(V2_SCOPE)], response_class=Response,
    summary="Recommendations for a contact, server to server (API key, no token)",
    openapi_extra={"parameters": V2_PARAMETERS},
    responses={200: {"content": {JSON: {"example": [{"id": "P1", "name": "…", "price": 9.9}]}}}},
)
# The two answered ahead of the app's stack (api/hot_path.py).
HOT_ROUTES = (token_route, router.routes[-1])


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
