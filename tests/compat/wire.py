"""Requests as the platform's integrations put them on the wire, and the effects they must have.

Each compat module builds its client's requests with these: the body bytes its language's encoder
writes (PHP's `json_encode` escapes `/` and non-ASCII, JavaScript's `JSON.stringify` does neither),
its Basic-auth user name, its header names. The assertions read what the client parses back and the
rows the request left in the store.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import sqlalchemy as sa

from recoms.store.tables import carts, contact_identifiers, contacts, events, interactions, orders

VIEW, CART, PURCHASE, WISHLIST, CATEGORY, IMPRESSION = 1, 2, 3, 4, 5, 6


def php_json(value: Any) -> bytes:
    """PHP `json_encode($value)` with no flags (and WordPress's `wp_json_encode`)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def js_json(value: Any) -> bytes:
    """JavaScript `JSON.stringify(value)`."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def basic(user: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()


def parse_like_fetch_with_error_handling(r) -> Any:
    """The Shopify app's `fetchWithErrorHandling`: JSON if the body parses, else the text; on an error
    status the message it raises is the text or the JSON `message`."""
    try:
        data = json.loads(r.text)
    except ValueError:
        data = r.text
    if r.status_code >= 300:
        raise ClientError(data if isinstance(data, str) else data.get("message") or "Unknown error", r.status_code)
    return data


class ClientError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


# ---- effects in the store -------------------------------------------------------------------------

def rows(platform, table, account_id, *where) -> list:
    with platform.engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.account_id == account_id, *where)).all()


def contact_of(platform, account_id: int, kind: str, value: str) -> int | None:
    found = rows(platform, contact_identifiers, account_id, contact_identifiers.c.kind == kind,
                 contact_identifiers.c.value == value)
    return found[0].contact_id if found else None


def identifiers(platform, account_id: int, contact_id: int) -> dict[str, str]:
    found = rows(platform, contact_identifiers, account_id, contact_identifiers.c.contact_id == contact_id)
    return {r.kind: r.value for r in found}


def attributes(platform, account_id: int, contact_id: int) -> dict[str, Any]:
    (row,) = rows(platform, contacts, account_id, contacts.c.id == contact_id)
    return row.attributes


def interactions_of(platform, account_id: int, contact_id: int | None, kind: int | None = None) -> list:
    who = interactions.c.contact_id.is_(None) if contact_id is None else interactions.c.contact_id == contact_id
    found = rows(platform, interactions, account_id, who)
    return [r for r in found if kind is None or r.kind == kind]


def order(platform, account_id: int, number: str):
    found = rows(platform, orders, account_id, orders.c.order_number == number)
    return found[0] if found else None


def cart_of(platform, account_id: int, contact_id: int) -> list[str]:
    found = rows(platform, carts, account_id, carts.c.contact_id == contact_id)
    return [line["product_id"] for line in found[0].lines] if found else []


def event_types(platform, account_id: int) -> list[str]:
    return [r.type for r in rows(platform, events, account_id)]


def domain_of(shop) -> str:
    """A host of this test shop's own (domains are unique across accounts, and tests share a store)."""
    return f"shop{shop.account_id}.example.com"
