"""One exception hierarchy, each carrying its HTTP status; the API turns them into problem+json."""

from __future__ import annotations

from typing import Any


class RecomsError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors

    @property
    def type(self) -> str:
        return f"https://recoms.dev/problems/{self.title.lower().replace(' ', '-')}"


class BadRequest(RecomsError):
    status = 400
    title = "Bad request"


class Unauthorized(RecomsError):
    status = 401
    title = "Unauthorized"


class Forbidden(RecomsError):
    status = 403
    title = "Forbidden"


class NotFound(RecomsError):
    status = 404
    title = "Not found"


class PayloadTooLarge(RecomsError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(RecomsError):
    status = 415
    title = "Unsupported media type"


class Invalid(RecomsError):
    status = 422
    title = "Validation failed"


class TooManyRequests(RecomsError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class Unavailable(RecomsError):
    """A dependency (the database, Redis) does not answer: the client may try again shortly."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))
