"""Catalog (SPEC §4): feed upload or pull, import history, one product."""

from __future__ import annotations

import tempfile
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from recoms.api.deps import CatalogWrite, PlatformDep
from recoms.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from recoms.services.feeds import import_location, import_stream, product, recent_imports, schedule_pull

router = APIRouter(tags=["catalog"])

FORMATS_BY_TYPE = {
    "text/tab-separated-values": "gmc_tsv",
    "text/csv": "gmc_csv",
}
FEED_BODY = {"requestBody": {"required": True, "content": {
    "application/xml": {"schema": {"type": "string"}, "example": "<rss version='2.0' …>"},
    "text/tab-separated-values": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                   "format": "binary"}}}},
    "application/json": {"schema": {"type": "object", "properties": {
        "url": {"type": "string"}, "schedule": {"type": "boolean"}}}},
}}}


def _mode(request: Request) -> bool:
    mode = request.query_params.get("mode", "full")
    if mode not in ("full", "partial"):
        raise BadRequest("mode must be full (products it omits become unavailable) or partial")
    return mode == "full"


async def _spool(request: Request, limit: int) -> tempfile.SpooledTemporaryFile:
    """The raw body to a temp file (feeds are large), 413 past the limit."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - handed to the caller
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            spool.close()
            raise PayloadTooLarge(f"the feed is larger than {limit} bytes")
        spool.write(chunk)
    if size == 0:
        spool.close()
        raise BadRequest("the body is empty: send the feed, a multipart file, or {\"url\": ...}")
    spool.seek(0)
    return spool


@router.post("/api/v1/feeds", summary="Import a product feed (GMC XML/Atom/TSV/CSV or YML)",
             openapi_extra=FEED_BODY)
async def upload_feed(request: Request, caller: CatalogWrite, platform: PlatformDep) -> dict[str, Any]:
    full = _mode(request)
    fmt = request.query_params.get("format")
    account_id = caller.account.id
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    engine = platform.engine
    if content_type == "application/json":
        try:
            body = orjson.loads(await request.body() or b"null")
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise BadRequest('a JSON body must be {"url": "https://…", "schedule": true|false}')
        url = body["url"]
        if not url.startswith(("http://", "https://")):
            raise BadRequest("url must be an http(s) URL")
        report = await run_in_threadpool(
            import_location, engine, account_id, url, full, fmt, platform.settings.max_feed_bytes,
            platform.settings.feed_fetch_timeout_seconds,
        )
        if body.get("schedule"):
            await run_in_threadpool(schedule_pull, engine, account_id, url)
        return report.to_json()
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5, max_part_size=platform.settings.max_feed_bytes)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequest("the multipart body needs a 'file' part holding the feed")
        report = await run_in_threadpool(import_stream, engine, account_id, upload.file, upload.filename or "upload",
                                         full, fmt)
        return report.to_json()
    if content_type and not (content_type.endswith("xml") or content_type in FORMATS_BY_TYPE
                             or content_type in ("text/plain", "application/octet-stream")):
        raise UnsupportedMediaType(f"cannot read a feed sent as {content_type}")
    spool = await _spool(request, platform.settings.max_feed_bytes)
    with spool:
        report = await run_in_threadpool(
            import_stream, engine, account_id, spool, "upload", full, fmt or FORMATS_BY_TYPE.get(content_type)
        )
    return report.to_json()


@router.get("/api/v1/feeds", summary="The account's recent feed imports")
def feed_history(caller: CatalogWrite, platform: PlatformDep) -> list[dict[str, Any]]:
    return recent_imports(platform.engine, caller.account.id)


@router.get("/api/v1/products/{product_id:path}", summary="One product in the recommendation response shape",
            response_class=Response)
def get_product(product_id: str, caller: CatalogWrite, platform: PlatformDep) -> Response:
    found = product(platform.engine, caller.account.id, product_id)
    return Response(found.to_json(), media_type="application/json")
