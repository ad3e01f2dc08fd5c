"""The Reteno mobile SDK's calls (its events go to /api/v1/events): recommendations, their impressions
and clicks, device and user.

The SDK authenticates with `X-Reteno-Access-Key` (a key with the `mobile` scope), counts only HTTP 200 as
success, sends chunked bodies and reads responses as plain text — so every success here is a 200 with a
JSON body, never compressed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from recoms.api.deps import Caller, PlatformDep, json_body, scope
from recoms.services import mobile
from recoms.services.attribution import RECOMMENDATION_ID_HEADER

router = APIRouter(tags=["mobile SDK"])

# Server-side callers may use their Basic keys with the matching scope.
MobileRecoms = Annotated[Caller, scope("mobile", "recoms:read")]
MobileTracking = Annotated[Caller, scope("mobile", "tracking:write")]
MobileContacts = Annotated[Caller, scope("mobile", "contacts:manage")]
DEVICE_HEADER = "x-reteno-device-id"


def _body_doc(example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object"}, "example": example}}}}


async def _json(request: Request, empty: Any = None, items_checked: bool = False) -> Any:
    """The body as JSON (chunked or not, charset or not); `empty` stands for an empty body when given."""
    if empty is not None and not (await request.body()).strip():
        return empty
    return await json_body(request, items_checked)


@router.post(
    "/api/v1/recoms/{recomVariantId}/request",
    summary="Recommendations for the app's device (Reteno SDK: X-Reteno-Access-Key, X-Reteno-Device-ID)",
    response_class=Response,
    openapi_extra=_body_doc({"products": ["P1"], "category": "", "fields": ["name", "price", "imageUrl"],
                             "filters": [{"name": "brand", "values": ["Acme"]}]}),
    responses={200: {"content": {"application/json": {"example": {"recoms": [
        {"productId": "P1", "name": "…", "price": 9.9, "imageUrl": "https://…"}]}}}}},
)
async def recoms_request(
    request: Request, recomVariantId: str, caller: MobileRecoms, platform: PlatformDep
) -> Response:
    body = await _json(request, empty={})
    answer, rid = await run_in_threadpool(
        mobile.recommend, platform, caller.account, recomVariantId, request.headers.get(DEVICE_HEADER), body
    )
    return Response(answer, media_type="application/json", headers={RECOMMENDATION_ID_HEADER: rid})


@router.post(
    "/api/v1/recoms/events", summary="Impressions and clicks of recommendations (Reteno SDK)",
    openapi_extra=_body_doc({"events": [{"recomVariantId": "r12v1", "impressions": [
        {"occurred": "2024-01-01T10:00:00Z", "productId": "P1"}], "clicks": []}]}),
)
async def recoms_events(request: Request, caller: MobileTracking, platform: PlatformDep) -> dict[str, Any]:
    body = await _json(request, items_checked=True)
    return await run_in_threadpool(
        mobile.record_recom_events, platform, caller.account.id, request.headers.get(DEVICE_HEADER), body
    )


@router.post(
    "/api/v1/device", summary="Register or update the app's device, link it to its user (Reteno SDK)",
    openapi_extra=_body_doc({"deviceId": "a1b2c3d4e5f60718", "externalUserId": "user-42", "pushToken": "",
                             "category": "MOBILE", "osType": "ANDROID", "email": "jane@example.com"}),
)
async def device(request: Request, caller: MobileContacts, platform: PlatformDep) -> dict[str, Any]:
    body = await _json(request)
    return await run_in_threadpool(mobile.update_device, platform.engine, caller.account.id, body)


@router.post(
    "/api/v1/user", summary="Update the app's user: identifiers and attributes (Reteno SDK)",
    openapi_extra=_body_doc({"deviceId": "a1b2c3d4e5f60718", "externalUserId": "user-42", "userAttributes": {
        "email": "jane@example.com", "firstName": "Jane", "fields": [{"key": "loyalty", "value": "gold"}]}}),
)
async def user(request: Request, caller: MobileContacts, platform: PlatformDep) -> dict[str, Any]:
    body = await _json(request)
    return await run_in_threadpool(mobile.update_user, platform.engine, caller.account.id, body)
