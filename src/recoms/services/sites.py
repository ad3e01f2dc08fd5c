"""A shop's site for web tracking: its domains and the snippet its pages load (the platform's `/site` API)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recoms.domain.accounts import Account
from recoms.errors import BadRequest
from recoms.store import sites

_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_domain(value: object) -> str:
    """The host of what the integrations send: a bare host (Shopify, OpenCart) or a full URL (WooCommerce)."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("domain is required: the shop's host name, e.g. shop.example.com")
    text = value.strip()
    try:
        host = urlsplit(text if "//" in text else "//" + text).hostname or ""
        host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except (ValueError, UnicodeError):
        host = ""
    if not _HOST.match(host) or ("." not in host and host != "localhost"):
        raise BadRequest(f"domain {text[:100]!r} is not a host name")
    return host


def register_domain(engine: sa.Engine, account: Account, value: object) -> dict[str, str]:
    """Register the shop's domain; again for the same account it is the same answer (the integrations
    re-send it on every reconnect). A domain another account registered is refused."""
    domain = normalise_domain(value)
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                owner = sites.register(conn, account.id, domain)
            break
        except IntegrityError:  # registered concurrently: the second pass reads the owner
            if attempt:
                raise
    if owner != account.id:
        raise BadRequest(f"Domain is already registered: {domain} belongs to another account")
    return {"result": "ok", "domain": domain, "siteId": account.site_id}
