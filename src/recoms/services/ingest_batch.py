"""One ingestion transaction's state: who holds each identifier, the carts, and the rows still to write.

The requests of a group commit (or a chunk of an import) share one: the identifiers of all their events
are looked up together, carts are read once and written once, and events and interactions go in with one
bulk insert each. The rare slow paths (links, merges, claims) work on the database: the carts they may
move are written before them (`Pending.before_slow_path`), the rows still held here follow a merge as the
stored ones do (`Pending.merged`), and the identifiers they touched are read back after them
(`AccountState.refresh`), so the next events see the same state a fresh lookup would. The usual merge, a new
visitor's session that logs in before its rows are written, is made on the held rows (`join_new_visitor`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from recoms.domain import identity
from recoms.store import activity, bulk_load, claims, contacts, group_lookups, history_marks, products, recom_events
from recoms.store.bulk import Rows, insert_together, json_text
from recoms.store.db import now_ms

Pair = tuple[str, str]
CONTACT_COLUMNS = ("id", "account_id", "attributes", "created_at", "updated_at", "merged_into")
IDENTIFIER_COLUMNS = ("account_id", "kind", "value", "contact_id", "created_at", "verified", "origin_contact_id")
MERGE_COLUMNS = ("account_id", "loser_id", "winner_id", "reason", "created_at", "undo")


@dataclass
class Prefetch:
    """What a group's events of one account will ask the database: looked up once for all of them."""

    pairs: list[Pair] = field(default_factory=list)  # every identifier the events carry
    keys: list[str] = field(default_factory=list)  # client event ids
    orders: list[str] = field(default_factory=list)  # order numbers of new orders
    cart_pairs: list[Pair] = field(default_factory=list)  # identifiers of cart events (their carts are read)
    customer_pairs: list[Pair] = field(default_factory=list)  # identifiers sent with a customer id, verified


class Holders(dict):
    """Who holds each identifier (None: nobody), and the identifiers of each contact: a merge re-points the
    loser's without a pass over them all (a chunk of an import holds thousands and merges dozens of times)."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        self.of: dict[int, set[Pair]] = {}
        self.update(*args)

    def __setitem__(self, pair: Pair, held: contacts.Held | None) -> None:
        self.pop(pair, None)
        super().__setitem__(pair, held)
        if held is not None:
            self.of.setdefault(held.contact_id, set()).add(pair)

    def pop(self, pair: Pair, default: Any = None) -> Any:
        held = super().pop(pair, default)
        if held is not None and held is not default:
            self.of[held.contact_id].discard(pair)
        return held

    def update(self, *args: Any) -> None:
        for pair, held in dict(*args).items():
            self[pair] = held

    def copy(self) -> Holders:
        return Holders(self)


@dataclass
class AccountState:
    """What one account's events in this transaction know: identifiers, carts, event keys, product patches."""

    account_id: int
    held: Holders = field(default_factory=Holders)
    carts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # contact -> lines, as of now
    dirty_carts: set[int] = field(default_factory=set)  # changed here, not yet written
    seen_keys: set[str] = field(default_factory=set)  # client event ids stored (before or in this transaction)
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)  # product id -> newest price/stock seen
    # (source verified?, *identifiers) -> the contact they resolved to without a slow path: every identifier
    # is held then, so the answer only changes when a slow path or a merge moves some (both clear it).
    resolved: dict[tuple, int] = field(default_factory=dict)
    # contact -> whether it holds a verified customer id (stored, or attached here); absent: not known yet.
    # A slow path forgets the contacts it touched (`forget_customers`).
    customer: dict[int, bool] = field(default_factory=dict)
    orders: set[str] = field(default_factory=set)  # order numbers recorded (stored, or held here to write)

    def lookup(self, conn: sa.Connection, pairs: Iterable[Pair]) -> None:
        """Who holds these identifiers, for those not known yet."""
        missing = [pair for pair in dict.fromkeys(pairs) if pair not in self.held]
        if missing:
            found = contacts.held_many(conn, self.account_id, missing)
            for pair in missing:
                self.held[pair] = found.get(pair)

    def refresh(self, conn: sa.Connection, pairs: Iterable[Pair]) -> None:
        """Read these identifiers again (a slow path may have attached, moved or verified them)."""
        pairs = list(dict.fromkeys(pairs))
        for pair in pairs:
            self.held.pop(pair, None)
        self.resolved.clear()
        self.lookup(conn, pairs)

    def merged(self, loser: int, winner: int) -> None:
        """A merge re-pointed every identifier of the loser to the winner (so do the known holders), and
        moved or dropped the loser's cart (written before it: `Pending.before_slow_path`)."""
        for pair in list(self.held.of.get(loser, ())):
            self.held[pair] = contacts.Held(winner, self.held[pair].verified)
        self.held.of.pop(loser, None)
        self.resolved.clear()
        self.carts.pop(loser, None)
        self.carts.pop(winner, None)
        either = (self.customer.pop(loser, None), self.customer.pop(winner, None))
        if True in either or either == (False, False):
            self.customer[winner] = True in either

    def forget_customers(self, contact_ids: Iterable[int]) -> None:
        for contact_id in contact_ids:
            self.customer.pop(contact_id, None)

    def holders(self, pairs: Iterable[Pair]) -> set[int]:
        """The contacts known to hold these identifiers."""
        return {h.contact_id for h in (self.held.get(p) for p in pairs) if h is not None}

    def cart(self, conn: sa.Connection, contact_id: int) -> list[dict[str, Any]]:
        if contact_id not in self.carts:
            self.carts[contact_id] = activity.carts_of(conn, self.account_id, [contact_id]).get(contact_id, [])
        return self.carts[contact_id]

    def set_cart(self, contact_id: int, lines: list[dict[str, Any]]) -> None:
        self.carts[contact_id] = lines
        self.dirty_carts.add(contact_id)

    def cart_rows(self, only: set[int] | None = None) -> Rows:
        """The carts changed here (`only`: of these contacts), to write now."""
        written = set(self.dirty_carts) if only is None else self.dirty_carts & only
        self.dirty_carts -= written
        return activity.cart_rows(self.account_id, {c: self.carts[c] for c in written})


class ContactIds:
    """PostgreSQL: contact ids taken from the sequence ahead, twice as many each time (16 to 1,024): a round
    trip per many new visitors. The group-commit writer keeps one from transaction to transaction (an id
    is handed out once, whatever becomes of its transaction; those never used are skipped for good)."""

    def __init__(self) -> None:
        self._ids: list[int] = []  # not handed out yet (the next one last)
        self._taken = 0  # how many the last round took
        self._pid = os.getpid()

    def take(self, conn: sa.Connection) -> int:
        if self._pid != os.getpid():  # a forked worker: the ids taken before the fork are its parent's
            self._ids, self._taken, self._pid = [], 0, os.getpid()
        if not self._ids:
            self._taken = min(2 * self._taken, 1024) if self._taken else 16
            self._ids = list(conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('contacts', 'id')) FROM generate_series(1, %s)",
                (self._taken,)).scalars())
            self._ids.reverse()
        return self._ids.pop()


class Pending:
    """The rows of one transaction, written at its end or before a slow path reads the database."""

    def __init__(self, conn: sa.Connection, contact_ids: ContactIds | None = None) -> None:
        self.conn = conn
        self.received = now_ms()
        self.accounts: dict[int, AccountState] = {}
        # New visitors by id: [id, account, attributes, created, updated, merged into]
        self.contacts: dict[int, list] = {}
        # Identifiers nobody held: [account, kind, value, contact, created, verified, origin contact], and by contact
        self.identifiers: list[list] = []
        self.identifiers_of: dict[int, list[list]] = {}
        self.merges: list[tuple] = []  # new visitors merged here (`join_new_visitor`): MERGE_COLUMNS
        self.events: list[list] = []  # activity.EVENT_COLUMNS
        self.interactions: list[list] = []  # activity.INTERACTION_COLUMNS
        self.orders: list[list] = []  # activity.ORDER_COLUMNS, new order numbers only
        self.by_contact: dict[int, list[list]] = {}  # the events, interactions and orders above, by contact
        self.recom_events: dict[int, list[dict[str, Any]]] = {}  # account -> impressions and clicks
        self.claims: set[tuple[int, int, int]] = set()  # (account, claimant, claimed), recorded once each
        self.contact_ids = contact_ids or ContactIds()
        self._next_id: int | None = None  # SQLite: the next free contact id (this transaction writes alone)

    def new_contact(self, account_id: int, ids: dict[str, str]) -> int:
        """A new visitor's contact holding these (device or verified) identifiers, written with the rows: one
        insert per table for all the new visitors of the transaction instead of two statements each."""
        contact_id = self._take_id()
        self.contacts[contact_id] = [contact_id, account_id, "{}", self.received, self.received, None]
        self._hold_identifiers(account_id, contact_id, ids, True)
        self.account(account_id).customer[contact_id] = "external_id" in ids
        return contact_id

    def attach(self, account_id: int, contact_id: int, ids: dict[str, str], verified: bool) -> None:
        """Identifiers nobody holds for a contact, written with the rows (before any slow path reads them)."""
        self._hold_identifiers(account_id, contact_id, ids, verified)
        if verified and "external_id" in ids:
            self.account(account_id).customer[contact_id] = True

    def _hold_identifiers(self, account_id: int, contact_id: int, ids: dict[str, str], verified: bool) -> None:
        rows = [[account_id, kind, value, contact_id, self.received, verified, None] for kind, value in ids.items()]
        self.identifiers.extend(rows)
        self.identifiers_of.setdefault(contact_id, []).extend(rows)

    def set_attributes(self, account_id: int, contact_id: int, values: dict[str, Any]) -> None:
        """Attributes the shop sent for a contact: on its row when it is a new visitor's held here (there is
        none stored to update yet), else on the stored one."""
        row = self.contacts.get(contact_id)
        if row is None:
            contacts.set_attributes(self.conn, account_id, contact_id, values)
        else:
            row[2] = json_text({**json.loads(row[2]), **values})  # Python's parser: integers of any size

    def _take_id(self) -> int:
        if self.conn.dialect.name == "sqlite":
            # BEGIN IMMEDIATE: no other writer until commit, so the ids after the largest are ours.
            if self._next_id is None:
                self._next_id = self.conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) + 1 FROM contacts").scalar()
            self._next_id += 1
            return self._next_id - 1
        return self.contact_ids.take(self.conn)

    def add_event(self, row: list) -> None:
        self.events.append(row)
        if row[1] is not None:
            self.by_contact.setdefault(row[1], []).append(row)

    def add_interaction(self, row: list) -> None:
        self.interactions.append(row)
        if row[1] is not None:
            self.by_contact.setdefault(row[1], []).append(row)

    def add_order(self, row: list) -> None:
        self.orders.append(row)
        self.account(row[0]).orders.add(row[2])
        if row[1] is not None:
            self.by_contact.setdefault(row[1], []).append(row)

    def account(self, account_id: int) -> AccountState:
        state = self.accounts.get(account_id)
        if state is None:
            state = self.accounts[account_id] = AccountState(account_id)
        return state

    def prefetch(self, account_id: int, wanted: Prefetch) -> None:
        """The lookups of a whole group at once, first in its transaction (store.group_lookups): identifiers,
        client event ids and order numbers already stored, the carts of the contacts that send cart events,
        and whether the contacts that may be given a customer id hold one."""
        state = self.account(account_id)
        pairs = [pair for pair in wanted.pairs if pair not in state.held]
        found = group_lookups.look_up(
            self.conn, account_id, pairs, [key for key in wanted.keys if key not in state.seen_keys],
            [number for number in wanted.orders if number not in state.orders],
            [pair for pair in wanted.cart_pairs if pair not in state.held],
            [pair for pair in wanted.customer_pairs if pair not in state.held])
        state.held.update({pair: found.held.get(pair) for pair in pairs})
        state.seen_keys |= found.keys
        state.orders |= found.orders
        state.carts = {**found.carts, **state.carts}
        state.customer = {**found.customers, **state.customer}

    def before_slow_path(self, involved: set[int] | None = None) -> None:
        """Write what a link or merge reads or moves: new visitors and their identifiers, and carts (the rows
        held here follow a merge: `merged`). `involved`: the only contacts it may read, merge or attach to
        (None: any). SQLite's contacts go in whatever it touches: the slow path may make contacts of its
        own, numbered after the stored ones (its next id is read again)."""
        parts = []
        if involved is None or self.conn.dialect.name == "sqlite" or self._holds_any(involved):
            parts = self._contact_rows()
            self._next_id = None
        insert_together(self.conn, parts + [state.cart_rows(involved) for state in self.accounts.values()])

    def _holds_any(self, contact_ids: set[int]) -> bool:
        """Whether a new contact or identifier held here belongs to one of these contacts."""
        return (any(contact_id in self.contacts or contact_id in self.identifiers_of for contact_id in contact_ids)
                or any(row[5] in contact_ids for row in self.contacts.values()))

    def forget_new_contacts(self) -> None:
        """A savepoint that made them was rolled back."""
        self.contacts, self.identifiers, self.identifiers_of, self.merges, self._next_id = {}, [], {}, [], None
        for state in self.accounts.values():
            state.customer.clear()

    def join_new_visitor(self, account_id: int, held: dict[str, contacts.Held | None], source: str) -> int | None:
        """Verified identifiers naming two contacts, where the one `contacts.resolve` would merge away is a new
        visitor's held here, not written yet (an anonymous session that logs in: an import's usual merge).
        The merge resolve would make, done to the held rows and recorded as `store.merges` records it
        (undoable), without a slow path: no writing of the held rows, no merge on the database. `held`: who
        holds each identifier (by kind). The contact they name; None when it is not that case (no customer
        id to attach, none held by the visitor, no attributes of its own: the slow path decides those)."""
        found = {kind: h for kind, h in held.items() if h is not None}
        if len({h.contact_id for h in found.values()}) != 2 or not all(h.verified for h in found.values()):
            return None
        winner = next(found[kind].contact_id for kind in identity.KINDS if kind in found)  # resolve's primary
        loser, kind = next((h.contact_id, kind) for kind in identity.KINDS
                           if (h := found.get(kind)) is not None and h.contact_id != winner)
        row = self.contacts.get(loser)
        if (row is None or row[2] != "{}" or ("external_id" in held and "external_id" not in found)
                or any(r[1] == "external_id" and r[5] for r in self.identifiers_of.get(loser, ()))):
            return None
        state = self.account(account_id)
        loser_cart = state.carts[loser] if loser in state.dirty_carts else None
        winner_cart = state.carts[winner] if winner in state.dirty_carts else None
        cart_moved = loser_cart is not None and winner_cart is None and not (
            winner not in self.contacts and activity.carts_of(self.conn, account_id, [winner]))
        state.dirty_carts.discard(loser)
        self.merged(account_id, loser, winner)
        if winner_cart is not None:
            state.carts[winner] = winner_cart
        elif cart_moved:
            state.set_cart(winner, loser_cart)
        row[5] = winner
        for other in self.contacts.values():  # held contacts merged into the loser now point at the winner
            if other[5] == loser:
                other[5] = winner
        for identifier in self.identifiers_of.pop(loser, ()):
            identifier[3], identifier[6] = winner, identifier[6] or loser
            self.identifiers_of.setdefault(winner, []).append(identifier)
        undo = {"winner_attributes": None, "loser_cart": loser_cart, "cart_moved": cart_moved}  # it brought none
        self.merges.append((account_id, loser, winner, f"{source}: {kind}"[:200], self.received, json_text(undo)))
        return winner

    def merged(self, account_id: int, loser: int, winner: int) -> None:
        """A merge moved the loser's stored rows to the winner (stamping where they came from): the rows
        still held here, the identifiers and carts known here, follow it."""
        self.account(account_id).merged(loser, winner)
        moved = self.by_contact.pop(loser, None)
        if moved:
            for row in moved:
                row[1] = winner
                row[-1] = row[-1] or loser
            self.by_contact.setdefault(winner, []).extend(moved)
        for row in self.recom_events.get(account_id, ()):
            if row["contact_id"] == loser:
                row["contact_id"] = winner

    def _contact_rows(self) -> list[Rows]:
        """The new contacts and identifiers, to write now."""
        parts = [Rows("contacts", CONTACT_COLUMNS, list(self.contacts.values())),
                 Rows("contact_identifiers", IDENTIFIER_COLUMNS, self.identifiers)]
        self.contacts, self.identifiers, self.identifiers_of = {}, [], {}
        return parts

    def write_rows(self, then: Callable[[], None] | None = None) -> None:
        """Everything held: one statement for a few rows of each kind (PostgreSQL), then `then`'s (with it,
        in one round trip: bulk.insert_together)."""
        for account_id, rows in self.recom_events.items():
            recom_events.insert_known(self.conn, account_id, rows)
        claims.add_many(self.conn, self.claims)
        histories: dict[int, set[int]] = {}  # account -> the contacts given interactions
        for row in self.interactions:
            histories.setdefault(row[0], set()).add(row[1])

        def marks_then() -> None:  # after the rows, in their round trip (PostgreSQL)
            for account_id, contact_ids in histories.items():
                history_marks.changed(self.conn, account_id, contact_ids)
            if then is not None:
                then()

        insert_together(self.conn, [
            *self._contact_rows(), Rows("contact_merges", MERGE_COLUMNS, self.merges),
            *(state.cart_rows() for state in self.accounts.values()),
            Rows("events", activity.EVENT_COLUMNS, self.events),
            Rows("interactions", activity.INTERACTION_COLUMNS, self.interactions),
            Rows("orders", activity.ORDER_COLUMNS, self.orders)], marks_then if histories else then)
        self.events, self.interactions, self.orders, self.recom_events, self.claims = [], [], [], {}, set()
        self.merges = []
        self.by_contact = {}

    def write_patches(self, state: AccountState) -> None:
        products.patch_many(self.conn, state.account_id, state.patches)
        state.patches = {}

    def finish(self, commit: bool = False) -> None:
        """Write what is held. `commit`: the transaction ends here (the caller commits next), and on
        PostgreSQL the COMMIT goes with the last writes: the rows, the product patches and the commit in
        one round trip (the caller's commit then finds nothing to do)."""
        def then() -> None:
            for state in self.accounts.values():
                self.write_patches(state)
            if commit:
                bulk_load.commit_after(self.conn)
        self.write_rows(then)
