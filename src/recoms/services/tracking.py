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
from recoms.services.attribution import may_name_a_list, web_signal_rows
from recoms.services.ingest_batch import ContactIds, Pending, Prefetch
from recoms.store import activity, contacts, products
from recoms.store.db import now_ms

Parser = Callable[[Any, int], TrackedEvent]
PARSERS: dict[str, Parser] = {
    "web": parse_web, "mobile": parse_mobile, "orders": parse_order, "reteno": mobile_sdk.parse_event,
}


# Event types that can be refused after they wrote something (a product update halfway through its
# list; an order status for an unknown order, after its visitor's contact was created): each runs in a
# savepoint. The others are refused, if at all, before their first write, and need none.
FAIL_AFTER_WRITES = frozenset({"ProductUpdate", "OrderUpdated", "OrderDelivered", "OrderCancelled"})
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


class _Request:
    """One request's events in a shared transaction: its account, who vouches for its identifiers, and the
    contact each event names (found in the prefetched holders, or by the slow paths in store.contacts)."""

    def __init__(self, pending: Pending, account_id: int, source: str) -> None:
        self.pending, self.conn = pending, pending.conn
        self.state = pending.account(account_id)
        self.account_id, self.source = account_id, source
        self.verified = source in VERIFIED_SOURCES
        self.held_known = False  # the last slow path left the identifiers it resolved known (`_link`)

    def contact_for(self, ev: TrackedEvent) -> int | None:
        if ev.contact_id is None:
            if not ev.ids:
                return None
            # A visitor's next events carry the same identifiers: once resolved here, all of them are held
            # and the answer stays (until a slow path or a merge moves identifiers: AccountState.resolved).
            key = (self.verified, *ev.ids.items())
            found = self.state.resolved.get(key)
            if found is not None:
                return found
            found = self._known(ev.ids)
            if found is not None:
                self.state.resolved[key] = found
                return found
        return self._slow(lambda: self._resolve(ev), ev.ids, named_contact=ev.contact_id is not None)

    def _known(self, ids: dict[str, str]) -> int | None:
        """The contact these identifiers name when no slow path is needed (None: it is): the answers
        `contacts.resolve` (the shop's server vouches) or `contacts.resolve_claimed` (a browser or an app)
        would give, with their writes held for the end of the transaction."""
        pairs = ids.items()
        if any(pair not in self.state.held for pair in pairs):
            self.state.lookup(self.conn, pairs)
        return self._vouched(ids) if self.verified else self._claim(ids, None)

    def _vouched(self, ids: dict[str, str]) -> int | None:
        """Verified identifiers: nobody holds any (a new contact), or one contact holds those held, all
        verified (it gets the others), or a new visitor held here joins a customer
        (`Pending.join_new_visitor`). Other merges, adoptions and a second customer id take the slow path."""
        state = self.state
        held = {kind: state.held[(kind, value)] for kind, value in ids.items()}
        holders = {h.contact_id for h in held.values() if h is not None}
        if not holders:
            return self._new_contact(ids)
        if len(holders) > 1 or not all(h.verified for h in held.values() if h is not None):
            contact_id = self.pending.join_new_visitor(self.account_id, held, self.source)
            if contact_id is not None:
                self._attach(contact_id, {kind: ids[kind] for kind, h in held.items() if h is None}, verified=True)
            return contact_id
        contact_id = holders.pop()
        unheld = {kind: ids[kind] for kind, h in held.items() if h is None}
        if "external_id" in unheld and self._has_customer_id(contact_id):
            return None  # another customer sharing an email or phone: resolve decides
        self._attach(contact_id, unheld, verified=True)
        return contact_id

    def _claim(self, ids: dict[str, str], own: int | None) -> int | None:
        """Identifiers from a public key: the visitor (`own`, else the one contact its device identifiers
        name, else a new one) gets the device identifiers nobody holds, and the customer identifiers nobody
        holds as unverified; each verified customer holding one of the others gets a claim. None: the slow
        path (no device identifier, or devices of two contacts)."""
        state = self.state
        held = {kind: state.held[(kind, value)] for kind, value in ids.items()}
        if own is None:
            devices = [h for kind, h in held.items() if kind in contacts.DEVICE_KINDS]
            holders = {h.contact_id for h in devices if h is not None}
            if not devices or len(holders) > 1 or not all(h.verified for h in devices if h is not None):
                return None
            own = holders.pop() if holders else None
        unheld = {kind: ids[kind] for kind, h in held.items() if h is None}
        device_ids = {k: v for k, v in unheld.items() if k in contacts.DEVICE_KINDS}
        if own is None:
            own = self._new_contact(device_ids)
        else:
            self._attach(own, device_ids, verified=True)
        self._attach(own, {k: v for k, v in unheld.items() if k in contacts.CUSTOMER_KINDS}, verified=False)
        for kind, h in held.items():
            if h is not None and kind in contacts.CUSTOMER_KINDS and h.verified and h.contact_id != own:
                self.pending.claims.add((self.account_id, own, h.contact_id))
        return own

    def _new_contact(self, ids: dict[str, str]) -> int:
        contact_id = self.pending.new_contact(self.account_id, ids)
        for pair in ids.items():
            self.state.held[pair] = contacts.Held(contact_id, True)
        self.state.carts[contact_id] = []
        return contact_id

    def _attach(self, contact_id: int, ids: dict[str, str], verified: bool) -> None:
        if ids:
            self.pending.attach(self.account_id, contact_id, ids, verified)
            for pair in ids.items():
                self.state.held[pair] = contacts.Held(contact_id, verified)

    def _has_customer_id(self, contact_id: int) -> bool:
        """Whether a contact holds a verified customer id (known to this transaction, else stored)."""
        known = self.state.customer.get(contact_id)
        if known is None:
            known = self.state.customer[contact_id] = bool(
                contacts.with_customer_id(self.conn, self.account_id, [contact_id]))
        return known

    def _slow(self, resolve: Callable[[], int | None], ids: dict[str, str], own: int | None = None,
              named_contact: bool = False) -> int | None:
        """A link, merge or claim: on the database as it is, then the identifiers it may have attached, moved
        or verified are read again, and the customer ids of the contacts holding them are no longer known.
        It reads, merges and attaches to the contacts holding the identifiers and the visitor's own (one an
        event names by id may be any: then all rows held here are written first)."""
        state, found = self.state, None
        state.lookup(self.conn, ids.items())
        touched = state.holders(ids.items())
        self.pending.before_slow_path(None if named_contact else touched | {own} - {None})
        self.held_known = False
        try:
            found = resolve()
            return found
        finally:
            if not self.held_known:  # a claim, or a failure: read them
                state.refresh(self.conn, ids.items())
            state.forget_customers(touched | state.holders(ids.items()) | {found})

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
            return self._link(ev.ids)
        if ev.ids:
            found = self._link(ev.ids)
            if found != known:
                contacts.merge(self.conn, self.account_id, loser=found, winner=known,
                               reason=f"{self.source}: user_es_contact_id")
                self.merged(found, known)
        return known

    def link(self, ids: dict[str, str], own: int | None = None) -> int | None:
        """The contact these identifiers name: linked and merged when verified, else the visitor's own."""
        self.state.lookup(self.conn, ids.items())
        found = self._vouched(ids) if self.verified else self._claim(ids, own) if own is not None else None
        return found if found is not None else self._slow(lambda: self._link(ids, own), ids, own=own)

    def _link(self, ids: dict[str, str], own: int | None = None) -> int | None:
        if self.verified:
            # What this transaction knows of the identifiers is what is stored (the slow path wrote its rows),
            # and resolve keeps `held` true: no reading them before or after (a merge re-points the loser's
            # other identifiers: `merged`).
            state = self.state
            state.lookup(self.conn, ids.items())
            held = {kind: h for kind, value in ids.items() if (h := state.held[(kind, value)]) is not None}
            found = contacts.resolve(self.conn, self.account_id, ids, on_merge=self.merged, caller=self.source,
                                     held=held, known_customers=state.customer)
            state.held.update({(kind, ids[kind]): h for kind, h in held.items()})
            state.resolved.clear()
            self.held_known = True
            return found
        return contacts.resolve_claimed(self.conn, self.account_id, ids, own=own)

    def merged(self, loser: int, winner: int) -> None:
        self.pending.merged(self.account_id, loser, winner)

    def interact(self, contact_id: int | None, ev: TrackedEvent, kind: int, product_id: str | None = None,
                 category: str | None = None, quantity: float | None = None, price: float | None = None,
                 order_number: str | None = None) -> None:
        self.pending.add_interaction([self.account_id, contact_id, kind, product_id, category, ev.ts,
                                      quantity or 1.0, price, order_number, None])


@dataclass
class ParsedEvents:
    """A request's events validated one by one: the good ones (index, event, client key, the event as JSON
    text for its row), and the notes."""

    events: list[tuple[int, TrackedEvent, str | None, str]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)


def parse_events(raw_events: Sequence[Any], form: str = "web") -> ParsedEvents:
    parse = PARSERS[form]
    now = now_ms()
    parsed = ParsedEvents([])
    for index, raw in enumerate(raw_events):
        try:
            try:
                ev = parse(raw, now)
            except EventError:
                check_strings(raw)  # a NUL byte is the reason given, whatever else is wrong
                raise
            text = activity.json_text(ev.raw)
            if "\\u0000" in text or ev.raw is not raw:  # the serializer escapes NUL: only then look closer
                check_strings(raw)
            parsed.events.append((index, ev, event_key(raw), text))
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
    with engine.connect() as conn:
        return store_retrying(conn, account_id, source, parsed)


def store_retrying(conn: sa.Connection, account_id: int, source: str, parsed: ParsedEvents) -> IngestResult:
    """One request's events in a transaction of their own on `conn`, run again once when a concurrent
    writer stored one of their keys first (the second run finds it)."""
    for attempt in range(2):
        try:
            with conn.begin():
                return store_parsed(conn, account_id, source, parsed)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def store_parsed(conn: sa.Connection, account_id: int, source: str, parsed: ParsedEvents) -> IngestResult:
    """Store and apply the good events of one request, in the caller's transaction."""
    return store_requests(conn, [(account_id, source, parsed)])[0]


def store_requests(conn: sa.Connection, requests: Sequence[tuple[int, str, ParsedEvents]],
                   commit: bool = False, contact_ids: ContactIds | None = None) -> list[IngestResult]:
    """Store and apply the good events of many requests (account, source, events) in the caller's
    transaction, as if one after the other: identifiers, event ids and carts are looked up once for all,
    and the rows go in with one insert per table. An event that fails while being applied is reported
    and leaves nothing behind (a savepoint guards the kinds that can fail after writing). `commit`: the
    caller commits next (on PostgreSQL the COMMIT then goes with the last writes: Pending.finish);
    `contact_ids`: where new contacts' ids come from (a writer's own, kept between transactions)."""
    pending = Pending(conn, contact_ids)
    wanted: dict[int, Prefetch] = {}
    for account_id, source, parsed in requests:
        _wanted(wanted.setdefault(account_id, Prefetch()), parsed, verified=source in VERIFIED_SOURCES)
    for account_id, prefetch in wanted.items():
        pending.prefetch(account_id, prefetch)
    results = [_store(pending, _Request(pending, account_id, source), parsed)
               for account_id, source, parsed in requests]
    pending.finish(commit)
    return results


def _wanted(prefetch: Prefetch, parsed: ParsedEvents, verified: bool) -> None:
    """What these events will look up (identifiers, keys, orders, carts, customer ids), added to `prefetch`."""
    for _index, ev, key, _text in parsed.events:
        ids = {**ev.ids, **ev.payload["ids"]} if ev.type == "CustomerData" else ev.ids
        prefetch.pairs.extend(ids.items())
        if key:
            prefetch.keys.append(key)
        if ev.type == "StatusCart":
            prefetch.cart_pairs.extend(ev.ids.items())
        elif ev.type == "PurchasedItems":
            prefetch.orders.append(ev.payload["order_number"])
        if verified and "external_id" in ids:  # may be attached to a contact its other identifiers name
            prefetch.customer_pairs.extend(pair for pair in ids.items() if pair[0] != "external_id")


def _store(pending: Pending, request: _Request, parsed: ParsedEvents) -> IngestResult:
    result = IngestResult(errors=list(parsed.errors), ignored=list(parsed.ignored))
    state, account_id, source = request.state, request.account_id, request.source
    for index, ev, key, text in parsed.events:
        if key is not None and key in state.seen_keys:
            result.duplicates.append({"index": index, "reason": f"event {key} was already stored"})
            result.accepted += 1
            continue
        try:
            if ev.type in FAIL_AFTER_WRITES:
                contact_id, duplicate = _apply_guarded(pending, request, ev, text)
            else:
                contact_id = request.contact_for(ev) if ev.ids or ev.contact_id is not None else None
                contact_id, duplicate = _apply(request, contact_id, ev, text)
        except EventError as exc:
            result.errors.append({"index": index, "reason": str(exc)})
            continue
        if key is not None:
            state.seen_keys.add(key)
        pending.add_event([account_id, contact_id, ev.type, source, ev.ts, text, pending.received, key, None])
        if duplicate:
            result.duplicates.append({"index": index, "reason": duplicate})
        if contact_id is None and ev.type != "ProductUpdate":
            result.anonymous.append({"index": index, "reason": ANONYMOUS})
        result.accepted += 1
    result.errors.sort(key=lambda e: e["index"])
    return result


def _apply_guarded(pending: Pending, request: _Request, ev: TrackedEvent, text: str,
                   ) -> tuple[int | None, str | None]:
    """An event that can fail after writing (a product update, an order's new status) runs in a savepoint:
    rolled back on its own, with what this transaction knew of identifiers as it was before it."""
    pending.write_rows()  # nothing of earlier events may be inside the savepoint, nor follow a merge it undoes
    state = request.state
    held = state.held.copy()
    try:
        with pending.conn.begin_nested():
            contact_id = request.contact_for(ev) if ev.ids or ev.contact_id is not None else None
            return _apply(request, contact_id, ev, text)
    except EventError:
        state.held = held
        state.resolved.clear()
        state.carts.clear()
        pending.forget_new_contacts()
        raise


def _apply(request: _Request, contact_id: int | None, ev: TrackedEvent, text: str) -> tuple[int | None, str | None]:
    """The effect of one event (`text`: its JSON): its contact (after any merge) and a note when it was a
    duplicate."""
    p, conn, account_id, state = ev.payload, request.conn, request.account_id, request.state
    kind = ev.type
    if kind in ("ProductPage", "AddToWishlist"):
        request.interact(contact_id, ev, VIEW if kind == "ProductPage" else WISHLIST, p["product_id"], price=p["price"])
        if kind == "ProductPage" and (p["price"] is not None or p["in_stock"] is not None):
            # applied once per product at the end of the transaction
            patch = state.patches.setdefault(p["product_id"], {})
            if p["price"] is not None:
                patch["price"] = p["price"]
            if p["in_stock"] is not None:
                patch["in_stock"] = p["in_stock"]
    elif kind == "CategoryPage":
        request.interact(contact_id, ev, CATEGORY_VIEW, category=p["category"])
    elif kind == "StatusCart":
        # An anonymous cart has no state to diff against: each of its items counts as added.
        before = {item["product_id"] for item in state.cart(conn, contact_id)} if contact_id else ()
        for item in p["items"]:
            if item["product_id"] not in before:
                request.interact(contact_id, ev, CART, item["product_id"], price=item["price"],
                                 quantity=item["quantity"])
        if contact_id is not None:
            state.set_cart(contact_id, p["items"])
    elif kind == "PurchasedItems":
        return contact_id, _order(request, contact_id, ev)
    elif kind == "CustomerData":
        if p["ids"]:
            # Verified: the visitor's cookie contact joins the known customer (merged inside resolve).
            # Claimed: the visitor stays itself, and its claim on the customer is recorded.
            contact_id = request.link({**ev.ids, **p["ids"]}, own=contact_id)
        if p["attributes"] and contact_id is not None:
            request.pending.set_attributes(account_id, contact_id, p["attributes"])
    elif kind == "ProductImpressions":
        for item in p["items"]:
            request.interact(contact_id, ev, IMPRESSION, item["product_id"])
    elif kind == "ProductUpdate":
        request.pending.write_patches(state)  # the tracker's earlier price and stock, then this update
        _update_products(conn, account_id, p["products"])
    elif kind in ("OrderUpdated", "OrderDelivered", "OrderCancelled"):
        status = {"OrderUpdated": "updated", "OrderDelivered": "delivered", "OrderCancelled": "cancelled"}[kind]
        request.pending.write_rows()  # a cancellation deletes the order's purchases: all of them
        if not activity.set_order_status(conn, account_id, p["order_number"], status):
            raise EventError(f"order {p['order_number']} is not known")
    if kind in ("ProductImpressions", "ProductPage") and may_name_a_list(text):
        signals = web_signal_rows(account_id, contact_id, ev, request.pending.received)
        if signals:
            request.pending.recom_events.setdefault(account_id, []).extend(signals)
    return contact_id, None


def _order(request: _Request, contact_id: int | None, ev: TrackedEvent) -> str | None:
    """Record an order once (by number); a re-sent one only moves its status. A note when it was known."""
    p, conn, account_id = ev.payload, request.conn, request.account_id
    status = p.get("status") or "created"
    total = p.get("total")
    if total is None:
        total = sum((i["price"] or 0.0) * i["quantity"] for i in p["items"])
    number = p["order_number"]
    if number in request.state.orders:
        if status != "created":
            request.pending.write_rows()  # a cancellation deletes the order's purchases: all of them
            activity.set_order_status(conn, account_id, number, status)
        return f"order {number} was already recorded"
    request.pending.add_order([account_id, contact_id, number, status, total, ev.ts, request.pending.received, None])
    if status != "cancelled":
        for item in p["items"]:
            request.interact(
                contact_id, ev, PURCHASE, item["product_id"], price=item["price"], quantity=item["quantity"],
                order_number=number,
            )
    if contact_id is not None:
        request.state.set_cart(contact_id, [])
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
