"""Annotated dependencies: the platform and API-key authentication by scope."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import orjson
from fastapi import Depends, Path, Request

from recoms.api.clients import client_address
from recoms.domain.accounts import Account, ApiKey
from recoms.domain.events import EventError, check_strings
from recoms.errors import BadRequest, Unauthorized
from recoms.services.platform import Platform


async def get_platform(request: Request) -> Platform:
    """Async: a plain function dependency runs in the threadpool, a thread hop per request for nothing."""
    return request.app.state.platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def key_from_header(header: str | None) -> str | None:
    """HTTP Basic with any user name and the key as password (as the platform does), or Bearer."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, _, password = decoded.partition(":")
    return password or None


# The Reteno mobile SDK sends its access key in this header instead of Authorization.
MOBILE_KEY_HEADER = "x-reteno-access-key"


def key_from_request(request: Request) -> str | None:
    return key_from_header(request.headers.get("authorization")) or request.headers.get(MOBILE_KEY_HEADER) or None


class Caller:
    def __init__(self, key: ApiKey, account: Account) -> None:
        self.key = key
        self.account = account


def caller_address(request: Request) -> str:
    return client_address(request.scope, request.app.state.trusted_proxies)


def authenticate(request: Request, *names: str) -> Caller:
    """The caller's API key, holding any of these scopes (401 without a key, 403 with a key lacking them),
    within its rate limit; an address that sent too many wrong keys is refused before its key is looked at.

    On the event loop: keys and accounts come from the directory's in-process cache (a miss is one short
    indexed read), and a threadpool hop per request cost more than the lookup."""
    platform: Platform = request.app.state.platform
    address = caller_address(request)
    platform.limits.check_address(address)
    secret = key_from_request(request)
    try:
        key, account = platform.directory.authenticate(secret, *names)
    except Unauthorized:
        if secret:
            platform.limits.failed(address)
        raise
    platform.limits.keys.check(key.id, "API key")
    return Caller(key, account)


def scope(*names: str):
    """The dependency that authenticates the caller with these scopes (`authenticate`); a lean route
    lists it in `dependencies` for its documentation and calls `authenticate` itself."""

    async def dependency(request: Request) -> Caller:
        return authenticate(request, *names)

    return Depends(dependency)


async def json_body(request: Request, items_checked: bool = False) -> object:
    """The request's JSON (400 with what is wrong when it is not JSON, or holds a NUL byte).

    Batch routes pass `items_checked`: they refuse a bad item on its own and keep the others.
    """
    raw = await request.body()
    if not raw:
        raise BadRequest("the body is empty: a JSON document is expected")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not items_checked and b"\\u0000" in raw:
        try:
            check_strings(body)
        except EventError as exc:
            raise BadRequest(str(exc)) from None
    return body


MAX_ID = 2**63 - 1
# A numeric id in a path: anything else is a 422 naming it, never a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

ContactsToken = Annotated[Caller, scope("contacts:token")]
RecomsRead = Annotated[Caller, scope("recoms:read")]
TrackingWrite = Annotated[Caller, scope("tracking:write")]
CatalogWrite = Annotated[Caller, scope("catalog:write")]
DataSourcesManage = Annotated[Caller, scope("datasources:manage")]
ContactsManage = Annotated[Caller, scope("contacts:manage")]
MobileApp = Annotated[Caller, scope("mobile")]
