"""Annotated dependencies: the platform and API-key authentication by scope."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import orjson
from fastapi import Depends, Path, Request

from recoms.domain.accounts import Account, ApiKey
from recoms.errors import BadRequest
from recoms.services.platform import Platform


def get_platform(request: Request) -> Platform:
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


def scope(*names: str):
    """An API key holding any of these scopes (401 without a key, 403 with a key lacking them)."""

    def dependency(request: Request) -> Caller:
        platform: Platform = request.app.state.platform
        key, account = platform.directory.authenticate(key_from_request(request), *names)
        return Caller(key, account)

    return Depends(dependency)


async def json_body(request: Request) -> object:
    """The request's JSON (400 with what is wrong when it is not JSON)."""
    raw = await request.body()
    if not raw:
        raise BadRequest("the body is empty: a JSON document is expected")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


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
TrackingOrMobile = Annotated[Caller, scope("tracking:write", "mobile")]
