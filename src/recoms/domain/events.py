"""Tracker events (SPEC §3): the web envelope and the mobile form, validated one by one.

Each parser returns a `TrackedEvent` with a normalised payload or raises `EventError` with the reason;
the ingest service keeps the good events of a batch and reports the bad ones by index.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from recoms.domain import identity
from recoms.domain.product import split_category, tag_name

WEB_TYPES = (
    "ProductPage", "StatusCart", "PurchasedItems", "CategoryPage", "CustomerData", "SearchRequest",
    "AddToWishlist", "MainPage", "NotFound", "StatusCartPage", "ProductImpressions", "ProductUpdate",
    "PageView",  # the platform's tracker sends one on every page; stored, no effect
)
# Mobile event names -> web event types (order status changes have no web twin).
MOBILE_TYPES = {
    "productViewed": "ProductPage",
    "productCategoryViewed": "CategoryPage",
    "productAddedToWishlist": "AddToWishlist",
    "cartUpdated": "StatusCart",
    "orderCreated": "PurchasedItems",
    "orderUpdated": "OrderUpdated",
    "orderDelivered": "OrderDelivered",
    "orderCancelled": "OrderCancelled",
    "searchRequest": "SearchRequest",
}
# Stored as anonymous when no identifier comes with them: an order or a cart still counts for the
# store-wide models (bestsellers, bought together); a CustomerData without one links nothing.
NO_IDENTITY_NEEDED = {"ProductUpdate", "StatusCart", "PurchasedItems", "CustomerData"}
MAX_ITEMS_PER_EVENT = 500
FUTURE_TOLERANCE_MS = 24 * 3600 * 1000
MAX_NUMBER = 1e12  # no price, total or quantity is larger; beyond it is a client's bug, not a sale
MAX_ID = 2**63 - 1  # ids are 64-bit in the store
MAX_EVENT_KEY = 100


def check_strings(value: Any) -> None:
    """No string anywhere in an event may hold a NUL byte (PostgreSQL cannot store one; no client means one).

    Iterative: a request body may nest as deep as the JSON parser allows.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise EventError("a string holds a NUL byte (\\u0000)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class EventError(ValueError):
    pass


@dataclass
class TrackedEvent:
    type: str
    ts: int
    ids: dict[str, str]  # identifier kind -> normal value
    payload: dict[str, Any]  # normalised, see the parsers below
    raw: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None  # user_es_contact_id, when the tracker knows it

    @property
    def anonymous(self) -> bool:
        return not self.ids and self.contact_id is None


# ---- field coercion: trackers send numbers as strings and flags as 0/1/"true" -------------------

def text_field(obj: dict, name: str, required: bool = True, max_len: int = 1000) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise EventError(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise EventError(f"{name} must be a string")
    text = str(value).strip()
    if len(text) > max_len:
        raise EventError(f"{name} is longer than {max_len} characters")
    if required and not text:
        raise EventError(f"{name} is required")
    return text


# A number as trackers write it: 19.9, "19.90", "19,90", "754 USD", "UAH 1 299.00".
_NUMBER_TEXT = re.compile(r"^[^\d+\-.]{0,8}?([+-]?(?:\d[\d\s\u00a0]*)?(?:[.,]\d+)?(?:[eE][+-]?\d+)?)[^\d]{0,8}$")


def number_field(obj: dict, name: str, required: bool = False, default: float | None = None) -> float | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise EventError(f"{name} is required")
        return default
    if isinstance(value, bool):
        raise EventError(f"{name} must be a number")
    try:
        number = parse_number(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise EventError(f"{name} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number) or number < 0:
        raise EventError(f"{name} must be a non-negative number, got {str(value)[:40]!r}")
    if number > MAX_NUMBER:
        raise EventError(f"{name} is larger than {MAX_NUMBER:.0e}")
    return number


def parse_number(text: str) -> float:
    if text.isdecimal() or (text.count(".") == 1 and text.replace(".", "", 1).isdecimal()):
        return float(text)  # "19.90", the usual form: what `_formatted_number` reads, without the pattern
    return _formatted_number(text)


def _formatted_number(text: str) -> float:
    match = _NUMBER_TEXT.match(text)
    if not match or not any(ch.isdigit() for ch in match.group(1)):
        raise ValueError(text)
    return float(re.sub(r"[\s\u00a0]", "", match.group(1)).replace(",", "."))


def flag_field(obj: dict, name: str) -> bool | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise EventError(f"{name} must be 0 or 1, got {value!r}")


def product_key(obj: dict, *names: str) -> str:
    for name in names:
        if obj.get(name) not in (None, ""):
            return text_field(obj, name, max_len=200)  # type: ignore[return-value]
    raise EventError(f"{names[0]} is required")


def as_object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise EventError(f"{what} must be an object")
    return value


def as_list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise EventError(f"{what} must be an array")
    if len(value) > MAX_ITEMS_PER_EVENT:
        raise EventError(f"{what} has more than {MAX_ITEMS_PER_EVENT} entries")
    return value


def _tags(obj: dict) -> dict[str, str]:
    return {
        tag_name(k[4:]): str(v) for k, v in obj.items() if k.startswith("tag_") and v is not None and k[4:]
    }


# ---- payload parsers, one per event type ---------------------------------------------------------

def _line_items(products: Any, key_names: tuple[str, ...], price_names: tuple[str, ...]) -> list[dict]:
    items = []
    for i, entry in enumerate(as_list(products, "Products")):
        entry = as_object(entry, f"Products[{i}]")
        try:
            price = next((number_field(entry, n) for n in price_names if entry.get(n) not in (None, "")), None)
            quantity = number_field(entry, "quantity", default=1.0)
            items.append({"product_id": product_key(entry, *key_names), "price": price, "quantity": quantity})
        except EventError as exc:
            raise EventError(f"Products[{i}]: {exc}") from None
    return items


def _product_page(p: dict) -> dict:
    return {
        "product_id": product_key(p, "productKey", "product_id", "productId"),
        "price": number_field(p, "price"),
        "in_stock": flag_field(p, "isInStock"),
        "tags": _tags(p),
    }


def _guid(p: dict) -> str | None:
    """A cart's GUID; PHP integrations send `false` when they have none."""
    value = p.get("GUID")
    ok = isinstance(value, (str, int)) and not isinstance(value, bool)
    return text_field(p, "GUID", required=False, max_len=200) if ok else None


def _status_cart(p: dict) -> dict:
    products = p.get("Products", p.get("products", []))
    keys = ("productKey", "product_id", "productId")
    return {"guid": _guid(p), "items": _line_items(products, keys, ("price",))}


def _order_number(p: dict, name: str) -> str:
    """The web tracker says OrderNumber, the mobile SDK orderNumber: either is accepted."""
    number = text_field(p, "OrderNumber", required=False, max_len=200) or text_field(p, "orderNumber", required=False,
                                                                            max_len=200)
    if not number:
        raise EventError(f"{name} is required")
    return number


def _purchased_items(p: dict) -> dict:
    number = _order_number(p, "OrderNumber")
    products = p.get("Products", p.get("products"))
    if products is None:
        raise EventError("Products is required")
    keys = ("product_id", "productKey", "productId")
    items = _line_items(products, keys, ("unit_price", "price"))
    if not items:
        raise EventError("Products is empty")
    return {"order_number": number, "guid": _guid(p), "items": items}


def _category_page(p: dict) -> dict:
    return {"category": product_key(p, "categoryKey", "category")}


def _customer_data(p: dict) -> dict:
    try:
        ids = identity.from_fields(p)
    except identity.IdentifierError as exc:
        raise EventError(str(exc)) from None
    known = set(identity.FIELD_KINDS)
    attributes = {
        k: v for k, v in p.items() if k not in known and isinstance(v, (str, int, float)) and not isinstance(v, bool)
    }
    return {"ids": ids, "attributes": attributes}


def _search(p: dict) -> dict:
    return {"search": text_field(p, "search"), "is_found": flag_field(p, "isFound")}


def _impressions(p: dict) -> dict:
    items = []
    for i, entry in enumerate(as_list(p.get("Products", p.get("products", [])), "Products")):
        entry = as_object(entry, f"Products[{i}]")
        items.append({
            "product_id": product_key(entry, "product_id", "productKey"),
            "container_type": text_field(entry, "container_type", required=False, max_len=100),
        })
    return {"items": items}


def _product_update(p: Any) -> dict:
    entries = p if isinstance(p, list) else [p]
    patches = []
    for i, entry in enumerate(as_list(entries, "ProductUpdate")):
        entry = as_object(entry, f"ProductUpdate[{i}]")
        try:
            patch: dict[str, Any] = {"id": product_key(entry, "product_id", "productKey", "id")}
            for src, dst in (("name", "name"), ("brand", "brand"), ("description", "descr"), ("url", "url")):
                value = text_field(entry, src, required=False, max_len=10000)
                if value is not None:
                    patch[dst] = value
            price = number_field(entry, "unit_price") if "unit_price" in entry else number_field(entry, "price")
            if price is not None:
                patch["price"] = price
            stock = flag_field(entry, "isInStock")
            if stock is not None:
                patch["in_stock"] = stock
            category = text_field(entry, "category", required=False)
            if category is not None:
                patch["category"] = split_category(category)
            tags = _tags(entry)
            if entry.get("imgurl"):
                tags["image_link"] = str(entry["imgurl"])
            if tags:
                patch["tags"] = tags
        except EventError as exc:
            raise EventError(f"ProductUpdate[{i}]: {exc}") from None
        patches.append(patch)
    return {"products": patches}


def _order_status(p: dict) -> dict:
    return {"order_number": _order_number(p, "orderNumber")}


def _no_payload(_p: Any) -> dict:
    return {}


PARSERS = {
    "ProductPage": _product_page,
    "StatusCart": _status_cart,
    "PurchasedItems": _purchased_items,
    "CategoryPage": _category_page,
    "CustomerData": _customer_data,
    "SearchRequest": _search,
    "AddToWishlist": _product_page,
    "MainPage": _no_payload,
    "NotFound": _no_payload,
    "StatusCartPage": _no_payload,
    "PageView": _no_payload,
    "ProductImpressions": _impressions,
    "ProductUpdate": _product_update,
    "OrderUpdated": _order_status,
    "OrderDelivered": _order_status,
    "OrderCancelled": _order_status,
}


def timestamp_ms(value: Any, now_ms: int) -> int:
    if value is None or value == "":
        return now_ms
    if isinstance(value, bool):
        raise EventError("datetime must be milliseconds since the epoch")
    try:
        ts = int(float(value))
    except (TypeError, ValueError, OverflowError):
        raise EventError(f"datetime must be milliseconds since the epoch, got {str(value)[:40]!r}") from None
    if ts <= 0:
        raise EventError(f"datetime must be a positive number of milliseconds since the epoch, got {ts}")
    if ts < 10**11:  # seconds, not milliseconds
        ts *= 1000
    if ts > now_ms + FUTURE_TOLERANCE_MS:
        raise EventError("datetime is in the future")
    return ts


def event_key(raw: Any) -> str | None:
    """The client's own id for an event, when it sends one: `eventId` (top level or in GeneralInfo), or
    the platform's `TrackedOrderId` of a purchase. A retried batch carrying it is not stored twice."""
    if not isinstance(raw, dict):
        return None
    info = raw.get("GeneralInfo")
    section = raw.get("PurchasedItems")
    if not ("eventId" in raw or "TrackedOrderId" in raw or (isinstance(info, dict) and "eventId" in info)
            or (isinstance(section, dict) and "TrackedOrderId" in section)):
        return None  # most events: no key (this runs for every event of an import)
    info = info if isinstance(info, dict) else {}
    section = section if isinstance(section, dict) else {}
    for source, name in ((raw, "eventId"), (info, "eventId"), (raw, "TrackedOrderId"), (section, "TrackedOrderId")):
        value = source.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            key = f"{name}:{str(value).strip()}"
            if len(key) > MAX_EVENT_KEY:
                raise EventError(f"{name} is longer than {MAX_EVENT_KEY - len(name) - 1} characters")
            return key
    return None


def parse_web(envelope: Any, now_ms: int | None = None) -> TrackedEvent:
    """A tracker envelope `{"GeneralInfo": {...}, "<eventName>": payload}`, in any form the platform's
    integrations send it (see `_section`), or a WooCommerce web-contact link."""
    now_ms = now_ms or int(time.time() * 1000)
    envelope = as_object(envelope, "event")
    if "GeneralInfo" not in envelope:
        envelope = _without_general_info(envelope)
    info = as_object(envelope.get("GeneralInfo"), "GeneralInfo")
    name = info.get("eventName")
    if name not in WEB_TYPES:
        raise EventError(f"eventName {str(name)[:60]!r} is not one of {', '.join(WEB_TYPES)}")
    payload = _section(envelope, name, info)
    cookies = info.get("cookies") or {}
    fields = {**as_object(cookies, "GeneralInfo.cookies"), **info}
    return _finish(name, payload, fields, info.get("datetime"), now_ms, envelope, info.get("user_es_contact_id"))


class IgnoredEvent(EventError):
    """Not an event, but something the integrations also post to the tracker: answered, not stored."""


# GeneralInfo fields that describe the request, not the visitor.
_INFO_FIELDS = {"eventName", "siteId", "datetime", "cookies", "user_es_contact_id", "s_location"}


def is_plugin_log(body: Any) -> bool:
    """The Shopify app (and OpenCart's telemetry) post their own log records where events go."""
    return isinstance(body, dict) and "GeneralInfo" not in body and ("log_level" in body or "typeCMS" in body)


PLUGIN_LOG = "a plugin's log record, not an event: ignored"


def _without_general_info(body: dict) -> dict:
    """WooCommerce posts a web-contact link `{externalCustomerId, webId, orgId, email?, phone?}` and the
    Shopify app its own log records to the tracker; the first is CustomerData, the second is ignored."""
    if is_plugin_log(body):
        raise IgnoredEvent(PLUGIN_LOG)
    if "webId" in body and "orgId" in body:
        info = {"eventName": "CustomerData", "externalCustomerId": body.get("externalCustomerId"),
                "user_email": body.get("email"), "user_phone": body.get("phone"), "cookies": {"sc": body.get("webId")}}
        return {"GeneralInfo": info}
    raise EventError("GeneralInfo must be an object")


def _section(envelope: dict, name: str, info: dict) -> Any:
    """The event's payload in the one form the parsers read.

    The platform's browser API (`eS('sendEvent', name, payload)`), its REST tracker and its plugins
    each shape it their own way: `StatusCart: [...]` with `GUID` beside it, `PurchasedItems: [...]`
    with `OrderNumber` beside it, `ProductPage: {Product: {...}, Tags: {...}}`, `ProductImpression`
    (singular) holding a bare array, CustomerData carried in GeneralInfo alone.
    """
    section = envelope.get(name)
    if name == "ProductImpressions" and section is None:
        section = envelope.get("ProductImpression")
    if section is None:
        if PARSERS[name] is _no_payload:
            return {}
        if name == "CustomerData":
            return {k: v for k, v in info.items() if k not in _INFO_FIELDS}
        raise EventError(f"the {name} payload is missing")
    if name == "ProductUpdate":
        return section
    if isinstance(section, list) and name in ("StatusCart", "PurchasedItems", "ProductImpressions"):
        section = {"Products": section}
    section = as_object(section, name)
    if name in ("StatusCart", "PurchasedItems"):
        # Order number and cart GUID may sit beside the section (the browser form) or inside it.
        beside = {k: envelope[k] for k in ("GUID", "OrderNumber") if k in envelope and k not in section}
        section = {**beside, **section}
    nested = {"ProductPage": "Product", "AddToWishlist": "Product", "CategoryPage": "Category"}.get(name)
    if nested and isinstance(section.get(nested), dict):
        section = section[nested]
    if name == "ProductImpressions" and isinstance(section.get("Products"), dict):
        section = {"Products": [section["Products"]]}
    return section


def parse_mobile(event: Any, now_ms: int | None = None) -> TrackedEvent:
    """A mobile event `{"eventName": "productViewed", "userPseudoId": ..., "params": {...} | [{name, value}]}`."""
    now_ms = now_ms or int(time.time() * 1000)
    event = as_object(event, "event")
    name = event.get("eventName", event.get("eventTypeKey"))
    if not isinstance(name, str) or name not in MOBILE_TYPES:
        raise EventError(f"eventName {str(name)[:60]!r} is not one of {', '.join(MOBILE_TYPES)}")
    params = event.get("params", {})
    if isinstance(params, list):  # the platform's SDK form: [{"name": ..., "value": ...}]
        try:
            params = {entry["name"]: entry.get("value") for entry in params}
        except (TypeError, KeyError):
            raise EventError("params must be an object or a list of {name, value}") from None
    params = as_object(params, "params")
    kind = MOBILE_TYPES[name]
    return _finish(kind, params, event, event.get("datetime"), now_ms, event, event.get("contactId"))


def _finish(kind: str, payload: Any, id_fields: dict, ts: Any, now_ms: int, raw: dict, contact: Any) -> TrackedEvent:
    try:
        ids = identity.from_fields(id_fields)
    except identity.IdentifierError as exc:
        raise EventError(str(exc)) from None
    contact_id = None
    if contact not in (None, ""):
        try:
            contact_id = int(contact)
        except (TypeError, ValueError, OverflowError):
            raise EventError("user_es_contact_id must be an integer") from None
        if not 1 <= contact_id <= MAX_ID:
            raise EventError(f"user_es_contact_id must be from 1 to {MAX_ID}")
    if not ids and contact_id is None and kind not in NO_IDENTITY_NEEDED:
        raise EventError("no visitor identifier: give cookies.sc, externalCustomerId, email, phone or userPseudoId")
    return TrackedEvent(kind, timestamp_ms(ts, now_ms), ids, PARSERS[kind](payload), raw, contact_id)
