"""The parsers of what clients send never fail in an unplanned way: any input is either an event (or a
contact record) the store can keep, or that parser's own error saying what is wrong. Anything else would
be a 500 for the whole batch instead of a 400 for one event."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from recoms.domain import events, mobile_sdk, platform_records
from recoms.domain.events import EventError, TrackedEvent
from recoms.domain.platform_records import ContactRecord, RecordError
from tests.fuzz.strategies import (
    EMAILS,
    FLAGS,
    FUZZ,
    INTS,
    ISO_TIMES,
    JSON,
    NUMBERS,
    PHONES,
    PLAIN,
    TEXT,
    TIMES_MS,
    items,
    loose,
    mostly,
    shaped,
)

NOW_MS = 1_764_000_000_000
IDS = {"externalCustomerId": TEXT, "user_email": EMAILS, "user_phone": PHONES, "userPseudoId": TEXT,
       "user_es_contact_id": mostly(st.integers(1, 2**63 - 1), loose(st.integers(-5, 2**64 - 1)))}
LINE = {"price": NUMBERS, "unit_price": NUMBERS, "quantity": NUMBERS, "discount": NUMBERS}
PRODUCT = {"price": NUMBERS, "isInStock": FLAGS, "tag_color": TEXT, "tag_": TEXT}
UPDATE = {"name": TEXT, "brand": TEXT, "description": TEXT, "url": TEXT, "imgurl": TEXT, "unit_price": NUMBERS,
          "price": NUMBERS, "isInStock": FLAGS, "category": TEXT, "tag_size": TEXT}
# The payload of each web event: what it needs (mostly right), and what it may carry.
PAYLOADS: dict[str, st.SearchStrategy] = {
    "ProductPage": shaped(PRODUCT, required={"productKey": TEXT}),
    "AddToWishlist": shaped(PRODUCT, required={"productId": TEXT}),
    "StatusCart": shaped({"GUID": loose(TEXT)}, required={"Products": st.lists(
        shaped(LINE, required={"productKey": TEXT}), max_size=3)}) | items({"productKey": TEXT, **LINE}),
    "PurchasedItems": shaped({"GUID": loose(TEXT)}, required={"OrderNumber": TEXT, "Products": st.lists(
        shaped(LINE, required={"product_id": TEXT}), max_size=3)}),
    "CategoryPage": shaped({}, required={"categoryKey": TEXT}) | shaped({"Category": shaped({"categoryKey": TEXT})}),
    "CustomerData": shaped({"user_name": TEXT, "user_email": EMAILS, "user_phone": PHONES, "gender": TEXT},
                           required={"externalCustomerId": TEXT}),
    "SearchRequest": shaped({"isFound": FLAGS}, required={"search": TEXT}),
    "ProductImpressions": shaped({}, required={"Products": st.lists(
        shaped({"container_type": TEXT}, required={"product_id": TEXT}), max_size=3)}),
    "ProductUpdate": st.lists(shaped(UPDATE, required={"product_id": TEXT}), max_size=3)
    | shaped(UPDATE, required={"productKey": TEXT}),
}


@st.composite
def web_envelopes(draw) -> Any:
    name = draw(mostly(st.sampled_from([*events.WEB_TYPES, "ProductImpression"]), TEXT))
    info = draw(shaped({"siteId": TEXT, "datetime": TIMES_MS, **IDS},
                       required={"eventName": st.just(name), "cookies": loose(shaped({"sc": TEXT}))}))
    envelope = {"GeneralInfo": info}
    if isinstance(name, str) and draw(st.integers(0, 5)):  # now and then the payload is missing
        envelope[name] = draw(mostly(PAYLOADS.get(name, st.just({})), JSON))
    envelope.update(draw(shaped({"GUID": TEXT, "OrderNumber": TEXT})))
    return envelope


WEB = mostly(web_envelopes(), shaped({"webId": TEXT, "orgId": TEXT, "log_level": TEXT, **IDS}) | JSON)
MOBILE_PARAMS = {"productKey": TEXT, "categoryKey": TEXT, "search": TEXT, "orderNumber": TEXT, "OrderNumber": TEXT,
                 "Products": items({"productKey": TEXT, "product_id": TEXT, **LINE}), **PRODUCT}
MOBILE = mostly(shaped({"userPseudoId": TEXT, "datetime": TIMES_MS, "contactId": loose(INTS),
                        "params": loose(shaped(MOBILE_PARAMS) | st.lists(shaped({"name": TEXT, "value": JSON})))},
                       required={"eventName": mostly(st.sampled_from(list(events.MOBILE_TYPES)), JSON)}), JSON)


def _json_text(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[Any]:
    """The SDKs serialise structured params into strings: sometimes valid JSON of the right shape."""
    return shaped(fields).map(lambda v: orjson.dumps(v).decode()) | loose(TEXT)


SDK_PARAMS = {
    "products": _json_text({"productId": TEXT, "price": NUMBERS, "quantity": NUMBERS}),
    "items": loose(st.lists(shaped({"externalItemId": TEXT, "productId": TEXT, "cost": NUMBERS, "quantity": NUMBERS}),
                            max_size=3).map(lambda v: orjson.dumps(v).decode())),
    "cartId": TEXT, "status": mostly(st.sampled_from(list(mobile_sdk.ORDER_STATUSES)), TEXT),
    "totalCost": NUMBERS, "isFound": FLAGS, "email": EMAILS, "phone": PHONES, "externalCustomerId": TEXT,
}
# Each event type needs its own: all are there, so that any type gets past them (mostly).
SDK_NEEDED = {
    "product": mostly(_json_text({"productId": TEXT, "price": NUMBERS, "isInStock": FLAGS, "color": JSON}), JSON),
    "category": mostly(_json_text({"productCategoryId": TEXT}) | PLAIN, JSON),
    "externalOrderId": TEXT, "search": TEXT,
}


@st.composite
def sdk_params(draw) -> Any:
    params = draw(shaped(SDK_PARAMS, required=SDK_NEEDED))
    if draw(st.booleans()):  # the SDK's own form: [{"name", "value"}]
        return [{"name": k, "value": v} for k, v in params.items()]
    return params


SDK = mostly(shaped({"occurred": ISO_TIMES | TIMES_MS, "externalUserId": TEXT},
                    required={"eventTypeKey": mostly(st.sampled_from(list(mobile_sdk.ECOMMERCE)), TEXT),
                              "deviceId": TEXT, "params": sdk_params()}), JSON)
ORDER_ITEM = shaped({"name": TEXT, "quantity": NUMBERS, "cost": NUMBERS},
                    required={"externalItemId": mostly(PLAIN, INTS | TEXT)})
ORDER = mostly(shaped({
    "externalCustomerId": TEXT, "email": EMAILS, "phone": PHONES, "date": ISO_TIMES, "totalCost": NUMBERS,
    "shipping": NUMBERS, "taxes": NUMBERS, "discount": NUMBERS, "currency": TEXT,
}, required={
    "externalOrderId": mostly(PLAIN, INTS | TEXT),
    "status": mostly(st.sampled_from(list(platform_records.ORDER_STATUSES)), TEXT),
    "items": mostly(st.lists(ORDER_ITEM, min_size=1, max_size=4), JSON),
}), JSON)
CONTACT = mostly(shaped({
    "externalCustomerId": loose(TEXT | INTS), "firstName": TEXT, "lastName": TEXT, "email": EMAILS,
    "phone": PHONES, "channels": loose(items({"type": mostly(st.sampled_from(["email", "sms"]), TEXT),
                                              "value": EMAILS | PHONES})),
    "address": shaped({"town": TEXT, "region": TEXT}), "fields": items({"id": TEXT, "key": TEXT, "value": JSON}),
}), JSON)
CONTACT_FIELDS = st.none() | st.lists(st.sampled_from(["email", "sms", "firstName"]) | TEXT, max_size=3) | JSON


def storable(event: TrackedEvent) -> None:
    """What `ingest` keeps of an event: its identifiers, time and payload, as JSON."""
    assert isinstance(event, TrackedEvent)
    assert isinstance(event.ts, int) and isinstance(event.ids, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in event.ids.items())
    orjson.dumps(event.payload)
    orjson.dumps(event.raw)


@FUZZ
@given(WEB)
def test_a_web_envelope_is_an_event_or_an_event_error(envelope):
    try:
        event = events.parse_web(envelope, NOW_MS)
    except EventError:
        return
    storable(event)


@FUZZ
@given(MOBILE)
def test_a_mobile_event_is_an_event_or_an_event_error(event):
    try:
        parsed = events.parse_mobile(event, NOW_MS)
    except EventError:
        return
    storable(parsed)


@FUZZ
@given(SDK)
def test_a_reteno_sdk_event_is_an_event_or_an_event_error(event):
    try:
        parsed = mobile_sdk.parse_event(event, NOW_MS)
    except EventError:
        return
    storable(parsed)


@FUZZ
@given(ORDER)
def test_an_order_is_an_event_or_an_event_error(order):
    try:
        event = platform_records.parse_order(order, NOW_MS)
    except (EventError, RecordError):
        return
    storable(event)


@FUZZ
@given(CONTACT, CONTACT_FIELDS)
def test_a_contact_record_is_a_record_or_a_record_error(record, contact_fields):
    try:
        parsed = platform_records.parse_contact(record, contact_fields)
    except RecordError:
        return
    assert isinstance(parsed, ContactRecord) and parsed.ids
    orjson.dumps(parsed.attributes)
