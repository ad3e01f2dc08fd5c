"""The Reteno mobile SDK's wire forms (Android 2.9.6, iOS 2.7.2): events, recommendation requests and
their impressions and clicks, device and user updates — parsed into our own shapes.

The SDK sends every event param as a string; ecommerce params carry JSON text (`product`, `products`,
`items`), numbers come as `"123.0"`, `"1.0E7"` or with float noise, times as ISO 8601 with or without
fractional seconds. Nothing here does I/O.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from recoms.domain import identity
from recoms.domain.events import (
    FUTURE_TOLERANCE_MS,
    NO_IDENTITY_NEEDED,
    EventError,
    TrackedEvent,
    as_list,
    as_object,
    check_strings,
    flag_field,
    number_field,
    product_key,
    text_field,
    timestamp_ms,
)
from recoms.domain.product import Product, tag_name
from recoms.errors import BadRequest


class SdkRequestError(BadRequest):
    """A request body the SDK could not have meant (the SDK drops a batch on a 4xx and keeps it on a 5xx)."""


# ---- times ----------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def occurred_ms(value: Any, now_ms: int, name: str = "occurred") -> int:
    """`2024-01-01T10:00:00.123Z`, `…:00Z`, `…T10:00` (iOS recom events: no seconds, UTC) -> epoch ms."""
    if value is None or value == "" or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return timestamp_ms(value, now_ms)
    if not isinstance(value, str):
        raise EventError(f"{name} must be an ISO 8601 time")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise EventError(f"{name} must be an ISO 8601 time like 2024-01-01T10:00:00.000Z, got {value[:40]!r}") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # both SDKs format in UTC
    ts = (when - _EPOCH) // timedelta(milliseconds=1)
    if ts > now_ms + FUTURE_TOLERANCE_MS:
        raise EventError(f"{name} is in the future")
    return ts


# ---- events: POST /api/v1/events ------------------------------------------------------------------

ORDER_STATUSES = {"INITIALIZED": "created", "IN_PROGRESS": "in_progress", "DELIVERED": "delivered",
                  "CANCELLED": "cancelled"}
# The order's own buyer identifiers (Android sends externalCustomerId, both send email and phone).
BUYER_FIELDS = ("externalCustomerId", "email", "phone")


def _device_ids(body: dict) -> dict[str, str]:
    """The SDK's device id is the contact's `pseudo_id`, its external user id the `external_id`."""
    return identity.from_fields({"deviceId": body.get("deviceId"), "externalCustomerId": body.get("externalUserId")})


def _params(value: Any) -> dict[str, Any]:
    """`[{"name", "value"}]` -> {name: value}; the first of a repeated name wins (order attributes come last)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for i, entry in enumerate(as_list(value, "params")):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise EventError(f"params[{i}] must be an object with a non-empty name")
        out.setdefault(entry["name"], entry.get("value"))
    return out


def _json_param(params: dict, name: str, required: bool = True) -> Any:
    """A param whose value is JSON text (the SDKs serialise structured values into the string)."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise EventError(f"{name} is required")
        return None
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        raise EventError(f"{name} must be JSON text")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        raise EventError(f"{name} is not valid JSON: {value[:60]!r}") from None


def _tag_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list):  # an attribute: {"color": ["red", "blue"]}
        parts = [t for t in (_tag_text(v) for v in value if not isinstance(v, (list, dict))) if t]
        return ",".join(parts)
    return None


def _product(params: dict) -> dict:
    product = as_object(_json_param(params, "product"), "product")
    tags = {}
    for key, value in product.items():
        name = tag_name(key) if key not in ("productId", "price", "isInStock") else ""
        text = _tag_text(value) if name else None
        if text:
            tags[name] = text
    try:
        return {"product_id": product_key(product, "productId"), "price": number_field(product, "price"),
                "in_stock": flag_field(product, "isInStock"), "tags": tags}
    except EventError as exc:
        raise EventError(f"product: {exc}") from None


def _category(params: dict) -> dict:
    value = params.get("category")
    if isinstance(value, str) and not value.lstrip().startswith("{"):
        return {"category": product_key(params, "category")}  # a bare category id
    category = as_object(_json_param(params, "category"), "category")
    return {"category": product_key(category, "productCategoryId")}


def _line_items(value: Any, what: str, keys: tuple[str, ...], price: str) -> list[dict]:
    items = []
    for i, entry in enumerate(as_list(value if value is not None else [], what)):
        try:
            entry = as_object(entry, "an item")
            items.append({"product_id": product_key(entry, *keys), "price": number_field(entry, price),
                          "quantity": number_field(entry, "quantity", default=1.0)})
        except EventError as exc:
            raise EventError(f"{what}[{i}]: {exc}") from None
    return items


def _cart(params: dict) -> dict:
    return {"guid": text_field(params, "cartId", required=False, max_len=200),
            "items": _line_items(_json_param(params, "products", required=False), "products", ("productId",), "price")}


def _order_number(params: dict) -> dict:
    return {"order_number": text_field(params, "externalOrderId", max_len=200)}


def _order(params: dict, created: bool) -> tuple[str, dict]:
    number = text_field(params, "externalOrderId", max_len=200)
    raw_status = text_field(params, "status", required=False, max_len=40)
    status = ORDER_STATUSES.get((raw_status or "").upper()) if raw_status else ("created" if created else None)
    if raw_status and status is None:
        raise EventError(f"status {raw_status!r} is not one of {', '.join(ORDER_STATUSES)}")
    items = _line_items(_json_param(params, "items", required=False), "items", ("externalItemId", "productId"),
                        "cost")
    if not created and not items:
        # A status change of a known order; a delivery or cancellation has its own effect.
        kind = {"delivered": "OrderDelivered", "cancelled": "OrderCancelled"}.get(status or "", "OrderUpdated")
        return kind, {"order_number": number}
    return "PurchasedItems", {
        "order_number": number, "guid": text_field(params, "cartId", required=False, max_len=200), "items": items,
        "status": status or "in_progress", "total": number_field(params, "totalCost"),
    }


def _buyer(params: dict) -> dict[str, str]:
    """The order's buyer identifiers; one that is not an identifier is left out (the order still counts)."""
    ids: dict[str, str] = {}
    for name in BUYER_FIELDS:
        try:
            ids.update(identity.from_fields({name: params.get(name)}))
        except identity.IdentifierError:
            continue
    return ids


ECOMMERCE: dict[str, Any] = {
    "productViewed": lambda p: ("ProductPage", _product(p)),
    "productAddedToWishlist": lambda p: ("AddToWishlist", _product(p)),
    "productCategoryViewed": lambda p: ("CategoryPage", _category(p)),
    "cartUpdated": lambda p: ("StatusCart", _cart(p)),
    "orderCreated": lambda p: _order(p, created=True),
    "orderUpdated": lambda p: _order(p, created=False),
    "orderDelivered": lambda p: ("OrderDelivered", _order_number(p)),
    "orderCancelled": lambda p: ("OrderCancelled", _order_number(p)),
    "searchRequest": lambda p: (
        "SearchRequest", {"search": text_field(p, "search"), "is_found": flag_field(p, "isFound")}
    ),
}
ORDER_EVENTS = ("orderCreated", "orderUpdated")


def parse_event(raw: Any, now_ms: int | None = None) -> TrackedEvent:
    """One SDK event, its batch's `deviceId` and `externalUserId` merged in by the caller.

    Ecommerce events become the tracker's types; any other key (screenView, SessionStarted, the app's
    own events) is kept as "Custom" so that the SDK's batch is never refused for it.
    """
    now_ms = now_ms or int(time.time() * 1000)
    event = as_object(raw, "event")
    key = event.get("eventTypeKey")
    if not isinstance(key, str) or not key.strip():
        raise EventError("eventTypeKey is required")
    if len(key) > 100:
        raise EventError("eventTypeKey is longer than 100 characters")
    params = _params(event.get("params"))
    ts = occurred_ms(event.get("occurred"), now_ms)
    try:
        ids = _device_ids(event)
    except identity.IdentifierError as exc:
        raise EventError(str(exc)) from None
    build = ECOMMERCE.get(key)
    if build is None:
        return TrackedEvent("Custom", ts, ids, {"name": key, "params": params}, dict(event))
    kind, payload = build(params)
    if key in ORDER_EVENTS:
        ids = {**_buyer(params), **ids}  # the app's own identifiers win over the order's
    if not ids and kind not in NO_IDENTITY_NEEDED:
        raise EventError("no identifier: deviceId is empty and there is no externalUserId")
    return TrackedEvent(kind, ts, ids, payload, dict(event))


# ---- recommendations: POST /api/v1/recoms/{recomVariantId}/request --------------------------------

_VARIANT = re.compile(r"[rR](\d{1,18})(?:[vV]\d{1,18})?|(\d{1,18})")


def variant_datasource(variant: str) -> int | None:
    """`12` or the platform's `r12v3` -> data source 12; None when it names no data source."""
    match = _VARIANT.fullmatch(variant.strip())
    if match is None:
        return None
    ds_id = int(match[1] or match[2])
    return ds_id or None


@dataclass(frozen=True)
class RecomRequestBody:
    query: dict[str, Any]  # products, category, filters: the POST form of /api/v1/recoms
    fields: tuple[str, ...] | None  # None: every field; (): productId only


def parse_recom_request(body: Any) -> RecomRequestBody:
    """`{"products"?, "category"? ("" = none), "fields"?, "filters"?: [{name, values}]}`, nulls as absent."""
    if not isinstance(body, dict):
        raise SdkRequestError("the body must be a JSON object")
    fields = body.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise SdkRequestError("fields must be an array of strings",
                                  [{"field": "fields", "reason": "must be an array of strings"}])
        fields = tuple(dict.fromkeys(fields))
    query = {name: body[name] for name in ("products", "category", "filters") if body.get(name) is not None}
    return RecomRequestBody(query, fields)


# A feed's image: GMC `image_link`, YML `picture` (stored as image_link), a ProductUpdate's `imgurl`.
IMAGE_TAGS = ("image_link", "picture", "imgurl")


def recom_item(p: Product, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A product as the SDKs' sample models read it; URL fields left out rather than empty (iOS `URL?`)."""
    item: dict[str, Any] = {"productId": p.id, "name": p.name, "descr": p.descr}
    if p.url:
        item["url"] = p.url
    image = next((p.tags[t] for t in IMAGE_TAGS if p.tags.get(t)), None)
    if image:
        item["imageUrl"] = image
    if p.price is not None and math.isfinite(p.price):
        item["price"] = float(p.price)
    item.update(brand=p.brand, category=list(p.category), isInStock=1 if p.in_stock else 0)
    for name, value in p.tags.items():
        if value not in (None, ""):
            item[f"tags_{name}"] = str(value)
    if fields is None:
        return item
    return {"productId": p.id, **{f: item[f] for f in fields if f in item}}


# ---- impressions and clicks: POST /api/v1/recoms/events -------------------------------------------

@dataclass(frozen=True)
class RecomEvent:
    variant: str  # as the SDK sent it
    datasource_id: int | None  # the id the variant names (not yet checked against the account)
    product_id: str
    kind: str  # impression | click
    ts: int


RECOM_EVENT_KINDS = (("impressions", "impression"), ("clicks", "click"))


def parse_recom_events(body: Any, max_entries: int, now_ms: int | None = None) -> tuple[list[RecomEvent], list[dict]]:
    """The good impressions and clicks, and each bad one by its entry's index and the reason.

    Lists may be missing or empty (iOS omits them, Android sends []), a variant may repeat (iOS).
    """
    now_ms = now_ms or int(time.time() * 1000)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise SdkRequestError('the body must be {"events": [{"recomVariantId", "impressions", "clicks"}]}')
    entries = body["events"]
    if len(entries) > max_entries:
        raise SdkRequestError(f"at most {max_entries} entries per request; send the rest in another")
    good: list[RecomEvent] = []
    errors: list[dict] = []
    for index, entry in enumerate(entries):
        try:
            entry = as_object(entry, "an entry")
            check_strings(entry)
            variant = text_field(entry, "recomVariantId", max_len=64)
        except EventError as exc:
            errors.append({"index": index, "reason": str(exc)})
            continue
        ds_id = variant_datasource(variant)
        for key, kind in RECOM_EVENT_KINDS:
            items = entry.get(key) or []
            if not isinstance(items, list):
                errors.append({"index": index, "reason": f"{key} must be an array"})
                continue
            for j, item in enumerate(items):
                try:
                    item = as_object(item, "an item")
                    good.append(RecomEvent(variant, ds_id, product_key(item, "productId"), kind,
                                           occurred_ms(item.get("occurred"), now_ms)))
                except EventError as exc:
                    errors.append({"index": index, "reason": f"{key}[{j}]: {exc}"})
    return good, errors


# ---- identity: POST /api/v1/device and /api/v1/user -----------------------------------------------

@dataclass
class IdentityUpdate:
    ids: dict[str, str]  # identifier kind -> normal value
    attributes: dict[str, Any] = field(default_factory=dict)
    ignored: list[dict[str, str]] = field(default_factory=list)  # values that are no identifier, skipped


DEVICE_ATTRIBUTES = ("languageCode", "timeZone")
USER_ATTRIBUTES = ("firstName", "lastName", "languageCode", "timeZone", "marketId")
MAX_ATTRIBUTE = 1000


def _identity(body: Any, contacts_from: dict) -> IdentityUpdate:
    """The device and user ids must be valid; an email or phone that is not one is skipped and reported."""
    if not isinstance(body, dict):
        raise SdkRequestError("the body must be a JSON object")
    try:
        ids = _device_ids(body)
    except identity.IdentifierError as exc:
        raise SdkRequestError(str(exc)) from None
    update = IdentityUpdate(ids)
    for name in ("email", "phone"):
        try:
            found = identity.from_fields({name: contacts_from.get(name)})
        except identity.IdentifierError as exc:
            update.ignored.append({"field": name, "reason": str(exc)})
            continue
        for kind, value in found.items():
            ids.setdefault(kind, value)
    if not ids:
        raise SdkRequestError("no identifier: give deviceId or externalUserId")
    return update


def _scalar(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_ATTRIBUTE]
    if isinstance(value, (bool, int, float)):
        return value
    return None


def parse_device(body: Any) -> IdentityUpdate:
    """`{"deviceId", "externalUserId"?, "email"?, "phone"?, "languageCode"?, "timeZone"?, push and OS fields}`."""
    update = _identity(body, body if isinstance(body, dict) else {})
    for name in DEVICE_ATTRIBUTES:
        if _scalar(body.get(name)) is not None:
            update.attributes[name] = _scalar(body[name])
    return update


def parse_user(body: Any) -> IdentityUpdate:
    """`{"deviceId", "externalUserId"?, "userAttributes"?: {phone, email, firstName, …, address, fields}}`."""
    attrs = body.get("userAttributes") if isinstance(body, dict) else None
    if attrs is not None and not isinstance(attrs, dict):
        raise SdkRequestError("userAttributes must be an object")
    attrs = attrs or {}
    update = _identity(body, attrs)
    out = update.attributes
    for name in USER_ATTRIBUTES:
        if _scalar(attrs.get(name)) is not None:
            out[name] = _scalar(attrs[name])
    address = attrs.get("address")
    if isinstance(address, dict):
        out.update({f"address_{k}": _scalar(v) for k, v in address.items()
                    if isinstance(k, str) and _scalar(v) is not None})
    custom = attrs.get("fields") or []
    if not isinstance(custom, list):
        raise SdkRequestError("userAttributes.fields must be an array of {key, value}")
    for i, entry in enumerate(custom):
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not key.strip() or len(key) > 100:
            update.ignored.append({"field": f"userAttributes.fields[{i}]", "reason": "key must be a short string"})
            continue
        if _scalar(entry.get("value")) is not None:
            out[key.strip()] = _scalar(entry["value"])
    return update
