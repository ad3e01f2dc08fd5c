"""Ingest tracker events (SPEC §3): validate each, keep the good ones durably, apply their effects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recoms.domain import mobile_sdk
from recoms.domain.events import (
    EventError,
    IgnoredEvent,
    TrackedEvent,
    check_strings,
    event_key,
    parse_mobile,
    parse_web,
)
from recoms.domain.platform_records import parse_order
from recoms.domain.product import Product, too_long
from recoms.recommenders.base import CART, CATEGORY_VIEW, IMPRESSION, PURCHASE, VIEW, WISHLIST
from recoms.services.attribution import web_signal_rows
from recoms.store import activity, contacts, products, recom_events
from recoms.store.db import now_ms

Parser = Callable[[Any, int], TrackedEvent]
PARSERS: dict[str, Parser] = {
    "web": parse_web, "mobile": parse_mobile, "orders": parse_order, "reteno": mobile_sdk.parse_event,
}


# Event types whose effect is only rows gathered for the end of the batch: nothing to roll back halfway,
# so no savepoint (two statements each) around them.
NO_PARTIAL_WRITES = frozenset({
    "ProductPage", "AddToWishlist", "CategoryPage", "SearchRequest", "MainPage", "NotFound", "StatusCartPage",
    "PageView", "ProductImpressions", "Custom",
})
ANONYMOUS = "no visitor identifier: stored as anonymous (counts for store-wide models only)"

# Who vouches for the identifiers: the shop's server (its API key) or the operator (CLI import). The
# browser's site id and the app's mobile key are public, so "web" and "mobile" events only claim them.
VERIFIED_SOURCES = ("api", "import")


@dataclass
class IngestResult:
    accepted: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    anonymous: list[dict[str, Any]] = field(default_factory=list)  # accepted, but linked to nobody
    ignored: list[dict[str, Any]] = field(default_factory=list)  # not events (plugin logs): answered, not stored

    NOTES = ("errors", "duplicates", "anonymous", "ignored")

    @property
    def refused(self) -> bool:
        """Nothing in the request was usable: the caller gets a 400."""
        return self.accepted == 0 and not self.ignored and bool(self.errors)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"accepted": self.accepted, "errors": self.errors, "duplicates": self.duplicates}
        body.update({key: getattr(self, key) for key in ("anonymous", "ignored") if getattr(self, key)})
        return body


class _Batch:
    """The rows one request writes, gathered while the effects are applied in its transaction."""

    def __init__(self, conn: sa.Connection, account_id: int, source: str) -> None:
        self.conn, self.account_id, self.source = conn, account_id, source
        self.verified = source in VERIFIED_SOURCES
        self.received = now_ms()
        self.events: list[dict[str, Any]] = []
        self.interactions: list[dict[str, Any]] = []
        self.recom_events: list[dict[str, Any]] = []  # impressions and clicks of recommendation lists
        self.contact_cache: dict[tuple, int | None] = {}
        self.held: dict[tuple[str, str], contacts.Held | None] = {}
        self.stale = False
        self.patches: dict[str, dict[str, Any]] = {}  # product id -> the newest price/stock seen

    def prefetch(self, parsed: Sequence[TrackedEvent]) -> None:
        """Who holds every identifier of the request's events: one lookup for the batch, not one each."""
        self.held = contacts.held_many(self.conn, self.account_id, (p for ev in parsed for p in ev.ids.items()))

    def contact_for(self, ev: TrackedEvent) -> int | None:
        key = (ev.contact_id, tuple(sorted(ev.ids.items())))
        if key not in self.contact_cache:
            found = self._known(ev)
            if found is None:
                found = self._resolve(ev)
                self.stale = True  # it may have moved or attached identifiers the prefetch saw otherwise
            self.contact_cache[key] = found
        return self.contact_cache[key]

    def _known(self, ev: TrackedEvent) -> int | None:
        """The common cases, without a query: identifiers one contact holds already, or nobody holds.

        Anything else (a merge, a claim, a contact id) takes `_resolve`. The answers are the ones it would
        give: a visitor is the contact its device identifiers name; the shop's server is believed.
        """
        if ev.contact_id is not None or not ev.ids:
            return None
        if not self.verified and any(kind not in contacts.DEVICE_KINDS for kind in ev.ids):
            return None  # a browser naming a customer: a claim
        if self.stale:  # after a slow path, this event's identifiers are looked up again
            self.held.update(contacts.held_many(self.conn, self.account_id, ev.ids.items()))
            for pair in ev.ids.items():
                self.held.setdefault(pair, None)
        held = [self.held.get(pair) for pair in ev.ids.items()]
        if all(h is None for h in held):
            contact_id = contacts.attach_new(self.conn, self.account_id, ev.ids, verified=True)
            self.held.update({pair: contacts.Held(contact_id, True) for pair in ev.ids.items()})
            return contact_id
        first = held[0]
        if all(h is not None and h.contact_id == first.contact_id and h.verified for h in held):
            return first.contact_id
        return None

    def _resolve(self, ev: TrackedEvent) -> int | None:
        known = None
        if ev.contact_id is not None:
            known = contacts.canonical_id(self.conn, self.account_id, ev.contact_id)
            if known is None:
                raise EventError(f"user_es_contact_id {ev.contact_id} is not a contact of this account")
        if not self.verified:
            # The visitor's own contact; naming a customer (or a contact id) is only a claim.
            return contacts.resolve_claimed(self.conn, self.account_id, ev.ids, [known] if known else [])
        if known is None:
            return self.link(ev.ids)
        if ev.ids:
            found = self.link(ev.ids)
            if found != known:
                contacts.merge(self.conn, self.account_id, loser=found, winner=known,
                               reason=f"{self.source}: user_es_contact_id")
                self.merged(found, known)
        return known

    def link(self, ids: dict[str, str], own: int | None = None) -> int | None:
        """The contact these identifiers name: linked and merged when verified, else the visitor's own."""
        self.stale = True  # identifiers move or appear: the prefetched holders are out of date
        if self.verified:
            return contacts.resolve(self.conn, self.account_id, ids, on_merge=self.merged, caller=self.source)
        return contacts.resolve_claimed(self.conn, self.account_id, ids, own=own)

    def interact(self, contact_id: int, ev: TrackedEvent, kind: int, product_id: str | None = None, **extra) -> None:
        self.interactions.append({
            "account_id": self.account_id, "contact_id": contact_id, "kind": kind, "product_id": product_id,
            "category": extra.get("category"), "ts": ev.ts, "quantity": extra.get("quantity") or 1.0,
            "price": extra.get("price"), "order_number": extra.get("order_number"),
        })

    def merged(self, loser: int, winner: int) -> None:
        """Rows gathered for a contact that was just merged belong to the winner."""
        self.stale = True
        for row in (*self.events, *self.interactions, *self.recom_events):
            if row["contact_id"] == loser:
                row["contact_id"] = winner
        self.contact_cache.clear()

    def flush(self) -> None:
        products.patch_many(self.conn, self.account_id, self.patches)
        activity.insert_events(self.conn, self.events)
        activity.insert_interactions(self.conn, self.interactions)
        recom_events.insert_known(self.conn, self.account_id, self.recom_events)


@dataclass
class ParsedEvents:
    """A request's events validated one by one: the good ones (index, event, client key), and the notes."""

    events: list[tuple[int, TrackedEvent, str | None]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)


def parse_events(raw_events: Sequence[Any], form: str = "web") -> ParsedEvents:
    parse = PARSERS[form]
    now = now_ms()
    parsed = ParsedEvents([])
    for index, raw in enumerate(raw_events):
        try:
            check_strings(raw)
            parsed.events.append((index, parse(raw, now), event_key(raw)))
        except IgnoredEvent as exc:
            parsed.ignored.append({"index": index, "reason": str(exc)})
        except EventError as exc:
            parsed.errors.append({"index": index, "reason": str(exc)})
    return parsed


def ingest(
    engine: sa.Engine, account_id: int, raw_events: Sequence[Any] | ParsedEvents, source: str, form: str = "web"
) -> IngestResult:
    """Validate each event on its own; store and apply the good ones in one transaction.

    An event that carries the client's id for it (`event_key`) is stored once: a retried batch reports
    the ones already stored as duplicates. When a concurrent request stores the same key first, the
    transaction is run again and finds it. (Tracking requests go through services.ingest_queue, which
    stores many requests in one transaction with `store_parsed`.)
    """
    parsed = raw_events if isinstance(raw_events, ParsedEvents) else parse_events(raw_events, form)
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                return store_parsed(conn, account_id, source, parsed)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def store_parsed(conn: sa.Connection, account_id: int, source: str, parsed: ParsedEvents) -> IngestResult:
    """Store and apply the good events of one request, in the caller's transaction; each event that fails
    while being applied is rolled back on its own (a savepoint) and reported."""
    result = IngestResult(errors=list(parsed.errors), ignored=list(parsed.ignored))
    batch = _Batch(conn, account_id, source)
    batch.prefetch([ev for _i, ev, _key in parsed.events])
    seen = activity.known_event_keys(conn, account_id, [key for _i, _ev, key in parsed.events if key])
    for index, ev, key in parsed.events:
        if key is not None and key in seen:
            result.duplicates.append({"index": index, "reason": f"event {key} was already stored"})
            result.accepted += 1
            continue
        try:
            if ev.type in NO_PARTIAL_WRITES and ev.contact_id is None:
                contact_id = batch.contact_for(ev) if ev.ids else None
                contact_id, duplicate = _apply(batch, contact_id, ev)
            else:
                with conn.begin_nested():  # rolled back on its own when the event fails halfway
                    contact_id = batch.contact_for(ev) if ev.ids or ev.contact_id is not None else None
                    contact_id, duplicate = _apply(batch, contact_id, ev)
        except EventError as exc:
            batch.contact_cache.clear()  # a contact created in the rolled-back savepoint is gone
            result.errors.append({"index": index, "reason": str(exc)})
            continue
        if key is not None:
            seen.add(key)
        batch.events.append({
            "account_id": account_id, "contact_id": contact_id, "type": ev.type, "source": source,
            "ts": ev.ts, "payload": ev.raw, "received_at": batch.received, "event_key": key,
        })
        if duplicate:
            result.duplicates.append({"index": index, "reason": duplicate})
        if contact_id is None and ev.type != "ProductUpdate":
            result.anonymous.append({"index": index, "reason": ANONYMOUS})
        result.accepted += 1
    batch.flush()
    result.errors.sort(key=lambda e: e["index"])
    return result


def _apply(batch: _Batch, contact_id: int | None, ev: TrackedEvent) -> tuple[int | None, str | None]:
    """The effect of one event: its contact (after any merge) and a note when it was a duplicate."""
    p, conn, account_id = ev.payload, batch.conn, batch.account_id
    kind = ev.type
    if kind in ("ProductPage", "AddToWishlist"):
        batch.interact(contact_id, ev, VIEW if kind == "ProductPage" else WISHLIST, p["product_id"], price=p["price"])
        patch = {k: v for k, v in (("price", p["price"]), ("in_stock", p["in_stock"])) if v is not None}
        if patch and kind == "ProductPage":  # applied once per product at the end of the batch
            batch.patches.setdefault(p["product_id"], {}).update(patch)
    elif kind == "CategoryPage":
        batch.interact(contact_id, ev, CATEGORY_VIEW, category=p["category"])
    elif kind == "StatusCart":
        # An anonymous cart has no state to diff against: each of its items counts as added.
        before = {item["product_id"] for item in activity.get_cart(conn, account_id, contact_id)} if contact_id else ()
        for item in p["items"]:
            if item["product_id"] not in before:
                batch.interact(contact_id, ev, CART, item["product_id"], price=item["price"], quantity=item["quantity"])
        if contact_id is not None:
            activity.set_cart(conn, account_id, contact_id, p["items"])
    elif kind == "PurchasedItems":
        return contact_id, _order(batch, contact_id, ev)
    elif kind == "CustomerData":
        if p["ids"]:
            # Verified: the visitor's cookie contact joins the known customer (merged inside resolve).
            # Claimed: the visitor stays itself, and its claim on the customer is recorded.
            contact_id = batch.link({**ev.ids, **p["ids"]}, own=contact_id)
        if p["attributes"] and contact_id is not None:
            contacts.set_attributes(conn, account_id, contact_id, p["attributes"])
    elif kind == "ProductImpressions":
        for item in p["items"]:
            batch.interact(contact_id, ev, IMPRESSION, item["product_id"])
    elif kind == "ProductUpdate":
        _update_products(conn, account_id, p["products"])
    elif kind in ("OrderUpdated", "OrderDelivered", "OrderCancelled"):
        status = {"OrderUpdated": "updated", "OrderDelivered": "delivered", "OrderCancelled": "cancelled"}[kind]
        if not activity.set_order_status(conn, account_id, p["order_number"], status):
            raise EventError(f"order {p['order_number']} is not known")
    batch.recom_events.extend(web_signal_rows(account_id, contact_id, ev, batch.received))
    return contact_id, None


def _order(batch: _Batch, contact_id: int | None, ev: TrackedEvent) -> str | None:
    """Record an order once (by number); a re-sent one only moves its status. A note when it was known."""
    p, conn, account_id = ev.payload, batch.conn, batch.account_id
    status = p.get("status") or "created"
    total = p.get("total")
    if total is None:
        total = sum((i["price"] or 0.0) * i["quantity"] for i in p["items"])
    if not activity.insert_order(conn, account_id, contact_id, p["order_number"], total, ev.ts, status):
        if status != "created":
            activity.set_order_status(conn, account_id, p["order_number"], status)
        return f"order {p['order_number']} was already recorded"
    if status != "cancelled":
        for item in p["items"]:
            batch.interact(
                contact_id, ev, PURCHASE, item["product_id"], price=item["price"], quantity=item["quantity"],
                order_number=p["order_number"],
            )
    if contact_id is not None:
        activity.set_cart(conn, account_id, contact_id, [])
    return None


def _update_products(conn: sa.Connection, account_id: int, patches: list[dict[str, Any]]) -> None:
    for patch in patches:
        if products.patch_product(conn, account_id, patch["id"], patch):
            continue
        if "name" not in patch or "price" not in patch:
            raise EventError(f"product {patch['id']} is not in the catalog; a new one needs name and price")
        product = Product(**{"in_stock": True, **patch})
        problem = too_long(product)
        if problem:
            raise EventError(f"product {patch['id'][:200]}: {problem}")
        products.upsert_products(conn, account_id, [product], feed_seen_at=None)
