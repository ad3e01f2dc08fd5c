"""The platform's setup calls its integrations make on connect: the key check, the shop's domain, the
tracking snippet (Shopify app, WooCommerce plugin, OpenCart modules, as their code sends them).

recoms sends no web push: the web-push setup calls succeed with a script that loads nothing, so the
integrations' connect flow completes; the Shopify Admin token handed over is not needed and not kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse

from recoms.api.deps import Caller, PlatformDep, TrackingWrite, json_body, scope
from recoms.domain.accounts import SCOPES
from recoms.errors import BadRequest
from recoms.services.sites import normalise_domain, register_domain
from recoms.services.snippet import snippet

router = APIRouter(tags=["integrations setup"])

AnyKey = Annotated[Caller, scope(*SCOPES)]
NO_WEB_PUSH = "<!-- recoms sends no web push: nothing to load -->"


@router.get("/api/v1/account/info", summary="The account a key belongs to (the integrations' key check)",
            responses={200: {"content": {"application/json": {"example": {
                "orgId": 1, "organisationName": "My shop", "userEmail": ""}}}}})
def account_info(caller: AnyKey) -> dict[str, Any]:
    return {"orgId": caller.account.id, "organisationName": caller.account.name, "userEmail": ""}


@router.post("/api/v1/site/domains", summary="Register the shop's domain for web tracking; returns the site id",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "example": {"domain": "shop.example.com"}}}}})
async def site_domain(request: Request, caller: TrackingWrite, platform: PlatformDep) -> dict[str, str]:
    body = await json_body(request)
    domain = body.get("domain") if isinstance(body, dict) else None
    return await run_in_threadpool(register_domain, platform.engine, caller.account, domain)


def _base_url(request: Request, public_url: str | None) -> str:
    return (public_url or str(request.base_url)).rstrip("/")


@router.get("/api/v1/site/script", response_class=PlainTextResponse,
            summary="The tracking snippet for the shop's pages (HTML: defines eS() and loads the tracker)")
def site_script(request: Request, caller: TrackingWrite, platform: PlatformDep) -> PlainTextResponse:
    # `?domain=` (OpenCart) is accepted and needs no registration first: WooCommerce asks before it registers.
    return PlainTextResponse(snippet(caller.account.site_id, _base_url(request, platform.settings.public_url)))


@router.post("/api/v1/site/webpush/domain", summary="Web push domain (recoms sends no web push)")
@router.post("/api/v1/site/webpush/domains", summary="Web push domains (recoms sends no web push)")
async def webpush_domain(request: Request, caller: TrackingWrite) -> dict[str, Any]:
    body = await json_body(request)
    entries = body.get("domains") if isinstance(body, dict) and "domains" in body else [body]
    if not isinstance(entries, list):
        raise BadRequest('domains must be an array of {"domain": ...}')
    domains = [normalise_domain(e.get("domain") if isinstance(e, dict) else None) for e in entries or [None]]
    return {"success": {"domain": domains[0], "status": "web push is not provided by recoms"}}


@router.get("/api/v1/site/webpush/script", summary="Web push script (recoms sends no web push)")
def webpush_script(caller: TrackingWrite) -> dict[str, str]:
    return {"script": NO_WEB_PUSH, "serviceWorker": "/* recoms sends no web push */"}


@router.post("/api/v1/shopify/token", summary="The Shopify app hands over its Admin token (not needed: dropped)")
@router.delete("/api/v1/shopify/token", summary="The Shopify app revokes its Admin token")
def shopify_token(caller: TrackingWrite) -> dict[str, str]:
    return {"result": "ok"}


@router.post("/logs/v1/plugin", summary="The integrations' telemetry (accepted and dropped)")
def plugin_log() -> dict[str, str]:
    return {"result": "ignored"}
