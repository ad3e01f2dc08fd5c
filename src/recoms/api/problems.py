"""The one error shape: application/problem+json `{type, title, status, detail, errors?}` (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from recoms.errors import RecomsError
from recoms.services.platform import DEPENDENCY_ERRORS, dependency_down

RETRY_AFTER_SECONDS = 5

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          408: "Request timeout", 409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
          422: "Validation failed", 429: "Too many requests", 500: "Internal error", 503: "Service unavailable"}


def problem_body(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None, title: str | None = None
) -> bytes:
    """The one error body. `message` repeats `detail`: the platform's clients log that field."""
    title = title or TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": f"https://recoms.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "message": detail,
    }
    if errors:
        body["errors"] = errors
    return orjson.dumps(body)


def problem(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
    title: str | None = None,
) -> Response:
    return Response(problem_body(status, detail, errors, title), status_code=status, media_type=MEDIA_TYPE,
                    headers=headers)


def from_error(exc: RecomsError, headers: dict[str, str] | None = None) -> Response:
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="recoms"', **(headers or {})}
    if getattr(exc, "retry_after", None):
        headers = {"Retry-After": str(exc.retry_after), **(headers or {})}
    return problem(exc.status, exc.detail, exc.errors, headers, exc.title)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body",)]
        out.append({"field": ".".join(loc) or "body", "reason": err.get("msg", "invalid")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RecomsError)
    async def _recoms_error(_request: Request, exc: RecomsError) -> Response:
        return from_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        json_error = any("JSON" in e["reason"] for e in errors)
        status = 400 if json_error else 422
        detail = "the body is not valid JSON" if json_error else "the request does not match the schema"
        return problem(status, detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such resource"
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    async def _dependency(request: Request, exc: Exception) -> Response:
        return unexpected(exc, f"{request.method} {request.url.path}")

    for kind in DEPENDENCY_ERRORS:  # handled here, not re-raised to the server like the 500s below
        app.add_exception_handler(kind, _dependency)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return unexpected(exc, f"{request.method} {request.url.path}")


def unexpected(exc: BaseException, where: str, headers: dict[str, str] | None = None) -> Response:
    """An exception no layer turned into a RecomsError: a dependency down (503, try again) or a bug (500)."""
    if dependency_down(exc):
        log.warning("a dependency does not answer on %s: %s", where, type(exc).__name__)
        return problem(503, "the service's storage does not answer right now: try again shortly",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})})
    log.exception("unhandled error on %s", where, exc_info=exc)
    return problem(500, "an internal error occurred; it has been logged", headers=headers)
