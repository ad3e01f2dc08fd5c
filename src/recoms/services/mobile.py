"""The Reteno mobile SDK's own calls: its recommendation request, impressions and clicks, device and user.

The SDK names the app's user by its device (`X-Reteno-Device-ID` on recommendation calls, `deviceId` in
bodies), which is the contact's `pseudo_id` identifier, as the events of `/api/v1/events` record it.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recoms.domain import attribution, identity, mobile_sdk, variants
from recoms.domain.accounts import Account
from recoms.domain.datasource import DataSource
from recoms.domain.mobile_sdk import IdentityUpdate
from recoms.errors import BadRequest, NotFound
from recoms.services import experiments
from recoms.services.contacts import resolve_contact
from recoms.services.platform import Platform
from recoms.services.recoms import parse_body
from recoms.store import contacts, recom_events
from recoms.store.db import now_ms


def device_contact(engine: sa.Engine, account_id: int, device_id: str | None) -> int | None:
    """The contact of a device, never created here: an unknown device gets no personalisation."""
    try:
        ids = identity.from_fields({"deviceId": device_id})
    except identity.IdentifierError:
        return None
    return resolve_contact(engine, account_id, ids, create=False) if ids else None


def recommend(
    platform: Platform, account: Account, variant: str, device_id: str | None, body: Any
) -> tuple[bytes, str]:
    """`{"recoms": [{"productId", ...}], "recommendationId"}`: the data source's answer for the device's
    A/B variant, as for /api/v1/recoms, in the SDK's shape (the SDKs ignore the id); and the id."""
    parsed = mobile_sdk.parse_recom_request(body)
    req = parse_body(parsed.query)
    ds_id = mobile_sdk.variant_datasource(variant)
    if ds_id is None:
        raise NotFound(f"recommendation variant {variant[:80]!r} names no data source: use its id, e.g. 12 or r12v1")
    contact_id = device_contact(platform.engine, account.id, device_id)
    chosen, products = experiments.serve_products(platform, account, ds_id, contact_id, req)
    rid = platform.recommendation_log.record(account.id, ds_id, chosen.id, contact_id, [p.id for p in products])
    items = [mobile_sdk.recom_item(p, parsed.fields) for p in products]
    return orjson.dumps({"recoms": items, "recommendationId": rid}), rid


def _datasource(platform: Platform, account_id: int, ds_id: int) -> DataSource | None:
    try:
        return platform.datasources.cached(account_id, ds_id)
    except NotFound:
        return None


def record_recom_events(platform: Platform, account_id: int, device_id: str | None, body: Any) -> dict[str, Any]:
    """Store the good impressions and clicks; 400 only when none is good (the SDK then drops the batch)."""
    good, errors = mobile_sdk.parse_recom_events(body, platform.settings.max_batch_events)
    if not good:
        if errors:
            raise BadRequest("no impression or click in the request was valid", errors)
        return {"accepted": 0, "errors": []}
    contact_id = device_contact(platform.engine, account_id, device_id)
    refs = {e.variant: attribution.parse_id(e.variant) for e in good}
    named = {e.datasource_id for e in good if e.datasource_id is not None}
    named |= {ref.datasource_id for ref in refs.values() if ref is not None}
    known = {ds_id: ds for ds_id in named if (ds := _datasource(platform, account_id, ds_id)) is not None}
    received = now_ms()
    rows = []
    for e in good:
        ref = refs[e.variant]  # a recommendation id (`r12v1.<n>`) names its list; `r12v3` only the data source
        ds_id = ref.datasource_id if ref else e.datasource_id
        ds = known.get(ds_id)
        variant_id = ref.variant_id if ref else (variants.choose(ds, contact_id).id if ds else None)
        rows.append({
            "account_id": account_id, "datasource_id": ds_id if ds else None, "variant": e.variant,
            "variant_id": variant_id, "recommendation_id": ref.number if ref else None, "contact_id": contact_id,
            "product_id": e.product_id, "kind": e.kind, "ts": e.ts, "source": "mobile", "received_at": received,
        })
    with platform.engine.begin() as conn:
        recom_events.insert(conn, rows)
    return {"accepted": len(rows), "errors": errors}


def _link(engine: sa.Engine, account_id: int, update: IdentityUpdate) -> dict[str, Any]:
    """The device's own contact gets the user's identifiers and attributes. The app's key is public (it
    ships inside the app), so the user's identifiers are claims: a customer the shop already knows by
    them is not merged with the device, until the shop's server links the two (the token endpoint with
    the email and the userPseudoId)."""
    for attempt in range(2):  # a concurrent request may create the same identifier first
        try:
            with engine.begin() as conn:
                contact_id = contacts.resolve_claimed(conn, account_id, update.ids)
                if update.attributes:
                    contacts.set_attributes(conn, account_id, contact_id, update.attributes)
            break
        except IntegrityError:
            if attempt:
                raise
    return {"ignored": update.ignored} if update.ignored else {}


def update_device(engine: sa.Engine, account_id: int, body: Any) -> dict[str, Any]:
    return _link(engine, account_id, mobile_sdk.parse_device(body))


def update_user(engine: sa.Engine, account_id: int, body: Any) -> dict[str, Any]:
    return _link(engine, account_id, mobile_sdk.parse_user(body))
