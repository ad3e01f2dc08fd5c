"""The platform's contact and order records (its REST API: `/contact`, `/contacts`, `/orders`).

Shops' integrations sync their customers and their order history with these; here they become
recoms' identifiers and attributes, and the same `TrackedEvent`s the tracker produces, so an
imported order counts for training exactly like a tracked purchase. Values arrive as the
integrations write them: ids as numbers or strings, money as numbers or strings (`""` for none),
placeholder names of one space, dates in several ISO forms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recoms.domain import identity
from recoms.domain.events import FUTURE_TOLERANCE_MS, EventError, TrackedEvent, check_strings, number_field

MAX_ORDER_ITEMS = 500
# The platform's order statuses -> recoms' (an abandoned cart is no order).
ORDER_STATUSES = {
    "INITIALIZED": "created", "IN_PROGRESS": "in_progress", "DELIVERED": "delivered", "CANCELLED": "cancelled",
    "ABANDONED_SHOPPING_CART": "abandoned",
}
# Contact fields kept as attributes (the platform's names); blank values are placeholders, not data.
CONTACT_ATTRIBUTES = ("firstName", "lastName", "languageCode", "timeZone")
ADDRESS_FIELDS = ("region", "town", "address", "postcode")


class RecordError(ValueError):
    pass


@dataclass
class ContactRecord:
    ids: dict[str, str]
    attributes: dict[str, Any] = field(default_factory=dict)
    # Identifier kinds the record says the contact no longer has (`contactFields` listing a channel it
    # does not send: the WooCommerce plugin removes a phone that way).
    cleared: set[str] = field(default_factory=set)


def _scalar(value: Any) -> str | None:
    """A non-blank string of a string or an integer (placeholders like " " count as nothing)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        text = str(value).strip()
        return text or None
    raise RecordError(f"expected a string, got {type(value).__name__}")


def _channels(record: dict) -> dict[str, str]:
    channels = record.get("channels") or []
    if isinstance(channels, dict):  # old clients send one object
        channels = [channels]
    if not isinstance(channels, list):
        raise RecordError("channels must be an array of {type, value}")
    fields: dict[str, str] = {}
    for channel in channels:
        if not isinstance(channel, dict):
            raise RecordError("channels must be an array of {type, value}")
        kind = {"email": "email", "sms": "phone"}.get(str(channel.get("type", "")).lower())
        value = _scalar(channel.get("value"))
        if kind and value and kind not in fields:
            fields[kind] = value
    return fields


def parse_contact(record: Any, contact_fields: Any = None) -> ContactRecord:
    """One contact of `POST /contact` or `POST /contacts` (RecordError saying what is wrong)."""
    if not isinstance(record, dict):
        raise RecordError("a contact must be an object")
    try:
        check_strings(record)
    except EventError as exc:
        raise RecordError(str(exc)) from None
    fields = _channels(record)
    for name in ("email", "phone"):  # some integrations also put them at the top level
        if name not in fields and (value := _scalar(record.get(name))):
            fields[name] = value
    external = _scalar(record.get("externalCustomerId"))
    if external:
        fields["externalCustomerId"] = external
    try:
        ids = identity.from_fields(fields)
    except identity.IdentifierError as exc:
        raise RecordError(str(exc)) from None
    attributes: dict[str, Any] = {}
    for name in CONTACT_ATTRIBUTES:
        if (value := _scalar(record.get(name))) is not None:
            attributes[name] = value[:200]
    address = record.get("address")
    if isinstance(address, dict):
        for name in ADDRESS_FIELDS:
            if (value := _scalar(address.get(name))) is not None:
                attributes[name] = value[:200]
    extra = record.get("fields")
    if isinstance(extra, list):
        for entry in extra[:100]:
            if isinstance(entry, dict) and (key := _scalar(entry.get("id", entry.get("key")))):
                value = entry.get("value")
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    attributes[f"field_{key}"[:100]] = value
    cleared = set()
    if isinstance(contact_fields, list):
        for name, kind in (("email", "email"), ("sms", "phone")):
            if name in contact_fields and kind not in ids:
                cleared.add(kind)
    if not ids:
        raise RecordError("the contact needs externalCustomerId, an email or an sms channel")
    return ContactRecord(ids, attributes, cleared)


def parse_date(value: Any, now_ms: int) -> int:
    """An ISO 8601 date as the integrations write it -> epoch ms (now when absent)."""
    if value in (None, ""):
        return now_ms
    if not isinstance(value, str):
        raise RecordError("date must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(f"date {value[:40]!r} is not an ISO 8601 date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ms = int(parsed.timestamp() * 1000)
    if ms > now_ms + FUTURE_TOLERANCE_MS:
        raise RecordError("date is in the future")
    return ms


def _money(order: dict, name: str) -> float | None:
    """A price, total or quantity as the tracker reads numbers ("45.00", 45, "", "754 USD")."""
    try:
        return number_field(order, name)
    except EventError as exc:
        raise RecordError(str(exc)) from None


def _items(order: dict) -> list[dict[str, Any]]:
    raw = order.get("items") or []
    if not isinstance(raw, list):
        raise RecordError("items must be an array")
    if len(raw) > MAX_ORDER_ITEMS:
        raise RecordError(f"items has more than {MAX_ORDER_ITEMS} entries")
    items = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise RecordError(f"items[{i}] must be an object")
        try:
            product = _scalar(entry.get("externalItemId"))
            if not product:
                raise RecordError("externalItemId is required")
            if len(product) > 200:
                raise RecordError("externalItemId is longer than 200 characters")
            quantity = _money(entry, "quantity") or 1.0
            cost = _money(entry, "cost")
        except RecordError as exc:
            raise RecordError(f"items[{i}]: {exc}") from None
        items.append({"product_id": product, "quantity": quantity, "cost": cost})
    return items


def _unit_prices(items: list[dict[str, Any]], order: dict, total: float | None) -> None:
    """`cost` is a unit price for some integrations and a line total for others: take the reading whose
    sum is closer to the order's goods total."""
    costs = [i["cost"] for i in items]
    lines_are_totals = False
    if total is not None and all(c is not None for c in costs) and any(i["quantity"] != 1 for i in items):
        goods = total - (_money(order, "shipping") or 0.0) - (_money(order, "taxes") or 0.0)
        goods += _money(order, "discount") or 0.0
        as_units = sum(c * i["quantity"] for c, i in zip(costs, items, strict=True))
        as_lines = sum(costs)
        lines_are_totals = abs(as_lines - goods) < abs(as_units - goods)
    for item in items:
        cost = item.pop("cost")
        item["price"] = cost / item["quantity"] if cost is not None and lines_are_totals else cost


def parse_order(order: Any, now_ms: int | None = None) -> TrackedEvent:
    """One order of `POST /orders` as the event a tracked purchase is (an abandoned cart as a cart)."""
    now_ms = now_ms or int(time.time() * 1000)
    try:
        if not isinstance(order, dict):
            raise RecordError("an order must be an object")
        number = _scalar(order.get("externalOrderId"))
        if not number:
            raise RecordError("externalOrderId is required")
        if len(number) > 200:
            raise RecordError("externalOrderId is longer than 200 characters")
        status = ORDER_STATUSES.get(str(order.get("status") or "INITIALIZED").upper())
        if status is None:
            raise RecordError(f"status must be one of {', '.join(ORDER_STATUSES)}")
        fields = {name: _scalar(order.get(name)) for name in ("externalCustomerId", "email", "phone")}
        ids = identity.from_fields({k: v for k, v in fields.items() if v})
        total = _money(order, "totalCost")
        items = _items(order)
        _unit_prices(items, order, total)
        ts = parse_date(order.get("date"), now_ms)
    except (RecordError, identity.IdentifierError) as exc:
        raise EventError(str(exc)) from None
    if status == "abandoned":
        return TrackedEvent("StatusCart", ts, ids, {"guid": None, "items": items}, order)
    if not items and status == "created":
        raise EventError("items is empty")
    payload = {"order_number": number, "guid": None, "items": items, "status": status, "total": total}
    return TrackedEvent("PurchasedItems", ts, ids, payload, order)
