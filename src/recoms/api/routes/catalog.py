"""Catalog (SPEC §4): feed upload or pull, import jobs and history, one product.

A feed in the body is imported before the answer (the report); a feed URL is a job (202, then poll
`GET /api/v1/feeds/{id}`). Both run on the feed import runner's threads, never on these.
"""

from __future__ import annotations

import tempfile
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from recoms.api.deps import CatalogWrite, PlatformDep, RowId
from recoms.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from recoms.services.feed_jobs import FeedJobs
from recoms.services.feeds import import_job, product, recent_imports

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


def _feed_jobs(request: Request) -> FeedJobs:
    """The import runner of this app's background jobs (its own threads, its own limits)."""
    return request.app.state.jobs.feeds


FeedJobsDep = Annotated[FeedJobs, Depends(_feed_jobs)]


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


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
             openapi_extra=FEED_BODY, response_class=Response, responses={
                 200: {"description": "a feed sent in the body, imported: the import report"},
                 202: {"description": "a feed URL, queued: the job (poll `Location`)"},
                 429: {"description": "too many imports running (Retry-After)"}})
async def upload_feed(request: Request, caller: CatalogWrite, platform: PlatformDep, jobs: FeedJobsDep) -> Response:
    full = _mode(request)
    fmt = request.query_params.get("format")
    account_id = caller.account.id
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = orjson.loads(await request.body() or b"null")
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise BadRequest('a JSON body must be {"url": "https://…", "schedule": true|false}')
        job = await run_in_threadpool(jobs.submit_url, account_id, body["url"], full, fmt, bool(body.get("schedule")))
        return _json(job, 202, {"Location": f"/api/v1/feeds/{job['id']}"})
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5, max_part_size=platform.settings.max_feed_bytes)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequest("the multipart body needs a 'file' part holding the feed")
        return _json(await jobs.import_upload(account_id, upload.file, upload.filename or "upload", full, fmt))
    if content_type and not (content_type.endswith("xml") or content_type in FORMATS_BY_TYPE
                             or content_type in ("text/plain", "application/octet-stream")):
        raise UnsupportedMediaType(f"cannot read a feed sent as {content_type}")
    spool = await _spool(request, platform.settings.max_feed_bytes)
    with spool:
        report = await jobs.import_upload(account_id, spool, "upload", full, fmt or FORMATS_BY_TYPE.get(content_type))
    return _json(report)


@router.get("/api/v1/feeds", summary="The account's recent feed imports")
def feed_history(caller: CatalogWrite, platform: PlatformDep) -> list[dict[str, Any]]:
    return recent_imports(platform.engine, caller.account.id)


@router.get("/api/v1/feeds/{import_id}", summary="One feed import: a URL import's job status, then its report")
def feed_import(import_id: RowId, caller: CatalogWrite, platform: PlatformDep) -> dict[str, Any]:
    return import_job(platform.engine, caller.account.id, import_id)


@router.get("/api/v1/products/{product_id:path}", summary="One product in the recommendation response shape",
            response_class=Response)
def get_product(product_id: str, caller: CatalogWrite, platform: PlatformDep) -> Response:
    found = product(platform.engine, caller.account.id, product_id)
    return Response(found.to_json(), media_type="application/json")
