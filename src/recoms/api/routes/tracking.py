"""Activity tracking (SPEC §3): browser tracker, server-side import, mobile events, the tracker script."""

from __future__ import annotations

from collections import defaultdict
from importlib.resources import files
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from recoms.api.deps import authenticate, json_body, key_from_header, key_from_request, scope
from recoms.api.lean import LeanRoute
from recoms.domain.accounts import Account
from recoms.domain.events import PLUGIN_LOG, is_plugin_log
from recoms.errors import BadRequest, Forbidden, Unauthorized
from recoms.services.platform import Platform
from recoms.services.tracking import IngestResult

router = APIRouter(tags=["tracking"])


ENVELOPES = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]},
    "example": {"GeneralInfo": {"eventName": "ProductPage", "siteId": "site_…", "datetime": 1764000000000,
                                "cookies": {"sc": "visitor-1"}},
                "ProductPage": {"productKey": "P10001", "price": 19.9, "isInStock": 1}}}}}}


def _as_list(body: Any, max_events: int) -> list[Any]:
    events = body.get("events", body) if isinstance(body, dict) and "events" in body else body
    events = events if isinstance(events, list) else [events]
    if not events:
        raise BadRequest("no events in the body")
    if len(events) > max_events:
        raise BadRequest(f"at most {max_events} events per request; send the rest in another")
    return events


def _respond(result: IngestResult) -> Response:
    """The answer's bytes, written here (FastAPI's validation and encoding of a dict cost more than the
    rest of a one-event request's handling); the documented shape stays `response_model`'s."""
    if result.refused:
        raise BadRequest("no event in the request was valid", result.errors)
    return Response(orjson.dumps(result.to_json()), media_type="application/json")


async def _merge(results: list[IngestResult], offsets: list[list[int]]) -> IngestResult:
    merged = IngestResult()
    for result, positions in zip(results, offsets, strict=True):
        merged.accepted += result.accepted
        for key in IngestResult.NOTES:
            for entry in getattr(result, key):
                getattr(merged, key).append({**entry, "index": positions[entry["index"]]})
    for key in IngestResult.NOTES:
        getattr(merged, key).sort(key=lambda e: e["index"])
    return merged


async def _by_site(request: Request, platform: Platform, events: list[Any]) -> IngestResult:
    """Browser events: each names its account by the public site id (GeneralInfo.siteId or ?siteId=)."""
    by_site: dict[str, list[int]] = defaultdict(list)
    accounts: dict[str, Account | None] = {}  # each site id of the request looked up once
    result = IngestResult()
    for index, event in enumerate(events):
        if is_plugin_log(event):
            result.ignored.append({"index": index, "reason": PLUGIN_LOG})
            continue
        info = event.get("GeneralInfo") if isinstance(event, dict) else None
        site = info.get("siteId") if isinstance(info, dict) else None
        site = site or request.query_params.get("siteId")  # parsed only when an event has none
        if not isinstance(site, str):
            account = None
        elif site in accounts:
            account = accounts[site]
        else:
            account = accounts[site] = platform.directory.site(site)
        if account is None:
            result.errors.append({"index": index, "reason": f"unknown or missing siteId {str(site)[:64]!r}"})
            continue
        by_site[site].append(index)
    for site in by_site:
        platform.limits.sites.check(site, "site id")
    if len(by_site) == 1 and not result.errors and not result.ignored:  # the usual request: one site
        site = next(iter(by_site))
        return await platform.ingest_queue.store(accounts[site].id, events, "web", "web")
    results, offsets = [result], [list(range(len(events)))]
    for site, positions in by_site.items():
        results.append(await platform.ingest_queue.store(accounts[site].id, [events[i] for i in positions],
                                                         "web", "web"))
        offsets.append(positions)
    return await _merge(results, offsets)


async def _tracker(request: Request, platform: Platform) -> Response:
    """The platform's tracker: from browsers (site id only) or from a shop's server (its API key).

    The integrations send their API key to the tracker too; then the key names the account and the
    events count as the shop's own (source "api"); a wrong key is refused rather than ignored.
    """
    events = _as_list(await json_body(request, items_checked=True), platform.settings.max_batch_events)
    secret = key_from_request(request)
    if secret:
        _key, account = platform.directory.authenticate(secret, "tracking:write")
        result = await platform.ingest_queue.store(account.id, events, "api", "web")
    else:
        result = await _by_site(request, platform, events)
    return _respond(result)


async def web_tracking(request: Request) -> Response:
    """Called from browsers (no API key: each event's siteId names the account and may only write events)
    and from shops' servers (Basic auth with an API key holding tracking:write)."""
    return await _tracker(request, request.app.state.platform)


async def platform_tracker(request: Request) -> Response:
    """Where the platform's integrations (Shopify, WooCommerce, OpenCart) post their tracker envelopes."""
    return await _tracker(request, request.app.state.platform)


router.add_api_route("/api/v2/tracking", web_tracking, methods=["POST"], route_class_override=LeanRoute,
                     summary="Tracker events (site key in GeneralInfo.siteId, or the shop's API key)",
                     openapi_extra=ENVELOPES, response_model=dict[str, Any])
router.add_api_route("/api/v2", platform_tracker, methods=["POST"], route_class_override=LeanRoute,
                     summary="Tracker events at the platform's tracker address (as /api/v2/tracking)",
                     openapi_extra=ENVELOPES, response_model=dict[str, Any])


def _sdk_batch(body: Any, max_events: int) -> list[Any] | None:
    """The mobile SDK's batch `{"deviceId", "externalUserId"?, "events": [{"eventTypeKey", ...}]}` as
    single events, each carrying its batch's identifiers; None for tracker envelopes."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return None
    first = body["events"][0] if body["events"] else None
    if "deviceId" not in body and not (isinstance(first, dict) and "eventTypeKey" in first):
        return None
    events = _as_list(body["events"], max_events)
    batch_ids = {"deviceId": body.get("deviceId"), "externalUserId": body.get("externalUserId")}
    return [{**event, **batch_ids} if isinstance(event, dict) else event for event in events]


async def import_events(request: Request) -> Response:
    """API key with tracking:write (Basic), or the app's key with the `mobile` scope (X-Reteno-Access-Key),
    which may send only the SDK's batches."""
    platform: Platform = request.app.state.platform
    caller = authenticate(request, *IMPORT_SCOPES)
    body = await json_body(request, items_checked=True)
    max_events = platform.settings.max_batch_events
    sdk_events = _sdk_batch(body, max_events)
    if sdk_events is not None:
        result = await platform.ingest_queue.store(caller.account.id, sdk_events, "mobile", "reteno")
        return _respond(result)
    if not caller.key.allows("tracking:write"):
        raise Forbidden("a mobile key sends the SDK's events only; tracker envelopes need tracking:write")
    result = await platform.ingest_queue.store(caller.account.id, _as_list(body, max_events), "api", "web")
    return _respond(result)


IMPORT_SCOPES = ("tracking:write", "mobile")
router.add_api_route("/api/v1/events", import_events, methods=["POST"], route_class_override=LeanRoute,
                     dependencies=[scope(*IMPORT_SCOPES)], openapi_extra=ENVELOPES, response_model=dict[str, Any],
                     summary="Events from a shop's server (tracker envelopes) or its mobile app (the Reteno SDK's "
                             "batch)")


def _mobile_account(request: Request, platform: Platform) -> int:
    secret = key_from_header(request.headers.get("authorization"))
    if secret:
        _key, account = platform.directory.authenticate(secret, "tracking:write")
        return account.id
    site = request.headers.get("x-site-id") or request.query_params.get("siteId")
    account = platform.directory.site(site) if site else None
    if account is None:
        raise Unauthorized("give an API key (Basic auth) or the site key (X-Site-Id header or ?siteId=)")
    platform.limits.sites.check(site, "site id")
    return account.id


async def mobile_events(request: Request) -> Response:
    platform: Platform = request.app.state.platform
    account_id = _mobile_account(request, platform)
    events = _as_list(await json_body(request, items_checked=True), platform.settings.max_batch_events)
    result = await platform.ingest_queue.store(account_id, events, "mobile", "mobile")
    return _respond(result)


router.add_api_route("/api/v1/mobile/events", mobile_events, methods=["POST"], route_class_override=LeanRoute,
                     summary="Mobile app events (API key or site key)", response_model=dict[str, Any],
                     openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"example": [
                         {"eventName": "productViewed", "userPseudoId": "a1b2c3", "datetime": 1764000000000,
                          "params": {"productKey": "P10001", "price": 19.9}}]}}}})
# The routes every page view and app screen of a shop comes to (this router's POSTs): answered ahead of the
# app's stack (api/hot_path.py), whose router and middleware cost a one-event request as much as its work.
HOT_ROUTES = tuple(route for route in router.routes if "POST" in getattr(route, "methods", ()))


_TRACKER = files("recoms.static").joinpath("tracker.js")


@router.get("/tracker.js", summary="The web tracking script (sets the sc cookie)", include_in_schema=True)
async def tracker_script() -> Response:
    return Response(_TRACKER.read_bytes(), media_type="application/javascript",
                    headers={"Cache-Control": "public, max-age=3600"})
