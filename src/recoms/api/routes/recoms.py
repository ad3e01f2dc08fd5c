"""The two recommendation endpoints (SPEC §2).

`/api/v1/recoms/{dataSourceId}` is the hot path: a plain Starlette route, first in the app's router (no
dependency injection, no response model: measured, FastAPI's route machinery costs as much as scoring),
that hands the request to one service call and answers its bytes. The app's middleware gives it the
body limit, CORS, metrics and the security headers like every other route.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response
from starlette.routing import Route

from recoms.api.deps import MAX_ID, PlatformDep, RecomsRead
from recoms.api.problems import from_error, problem, unexpected
from recoms.domain import identity
from recoms.errors import BadRequest, RecomsError
from recoms.services.attribution import RECOMMENDATION_ID_HEADER
from recoms.services.contacts import resolve_contact
from recoms.services.recoms import datasource_id, parse_query

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
    return "/" not in rest and rest not in MOBILE_ROUTES


async def recoms_v1(request: Request) -> Response:
    """GET (query) or POST (JSON body) with the ES-TOKEN header; the next token in the ES-TOKEN header."""
    platform = request.app.state.platform
    body = await request.body() if request.method == "POST" else None
    try:
        answer = platform.recommendations.by_token(
            request.headers.get("es-token"), request.path_params["dataSourceId"], request.query_params, body)
    except Exception as exc:  # the token store does not answer: 503, and the token was not spent
        return unexpected(exc, "token exchange")
    # The next token and the list's id are for the page too (CORS adds this only to cross-origin calls).
    headers = {"ES-TOKEN": answer.next_token, "Access-Control-Expose-Headers": EXPOSED} if answer.next_token else None
    error = answer.error
    if error is None:
        return Response(answer.body, media_type=JSON,
                        headers={**headers, RECOMMENDATION_ID_HEADER: answer.recommendation_id})
    if isinstance(error, RecomsError):
        # A token problem is no Basic-auth challenge: the app gets a new token from its server instead.
        return problem(401, error.detail, headers=headers) if error.status == 401 else from_error(error, headers)
    return unexpected(error, "recommendations", headers)


class DataSourceSegment(Convertor[str]):
    """Any path segment but `events`: `/api/v1/recoms/events` (the mobile SDK's) goes on to its own route,
    while a wrong id still reaches the token route (a 404 that carries the next token)."""

    regex = r"(?!events$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("datasource", DataSourceSegment())
token_route = Route("/api/v1/recoms/{dataSourceId:datasource}", recoms_v1, methods=["GET", "POST"], name="recoms_v1")


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
    ds_id = datasource_id(dataSourceId)
    req = parse_query(request.query_params)
    fields = {"externalCustomerId": externalCustomerId, "email": email, "phone": phone, "webId": webId}
    try:
        ids = identity.from_fields(fields)
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc)) from None
    contact_id = contactId
    if contact_id is None and ids:  # one indexed lookup, on the loop like the rest of the hot path
        contact_id = resolve_contact(platform.engine, caller.account.id, ids, False)
    body, recommendation_id = platform.recommendations.serve(caller.account, ds_id, contact_id, req)
    return Response(body, media_type=JSON, headers={RECOMMENDATION_ID_HEADER: recommendation_id})


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
