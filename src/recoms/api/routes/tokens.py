"""POST /api/v1/auth/contact/token: the shop's server gets a single-use contact token (SPEC §2)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from recoms.api.deps import ContactsToken, PlatformDep, json_body
from recoms.services.accounts import require_recommendations
from recoms.services.contacts import issue_token

router = APIRouter(tags=["mobile flow"])

TOKEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "description": "At least one non-empty identifier.",
            "properties": {k: {"type": "string"} for k in
                           ("email", "phone", "externalCustomerId", "userPseudoId", "cookie")},
            "example": {"email": "anna@example.com", "externalCustomerId": "c-1001"},
        }}},
    }
}


@router.post(
    "/api/v1/auth/contact/token",
    summary="Get a contact token for the recommendations request",
    openapi_extra=TOKEN_BODY,
    responses={200: {"content": {"application/json": {"example": {"token": "…"}}}}},
)
async def contact_token(request: Request, caller: ContactsToken, platform: PlatformDep) -> dict[str, str]:
    require_recommendations(caller.account)
    body = await json_body(request)
    token = await run_in_threadpool(issue_token, platform.engine, platform.ctx.tokens, caller.account.id, body)
    return {"token": token}
