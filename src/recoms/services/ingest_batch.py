"""One ingestion transaction's state: who holds each identifier, the carts, and the rows still to write.

The requests of a group commit (or a chunk of an import) share one: the identifiers of all their events
are looked up together, carts are read once and written once, and events and interactions go in with one
bulk insert each. The rare slow paths (links, merges, claims) work on the database: the carts they may
move are written before them (`Pending.before_slow_path`), the rows still held here follow a merge as the
stored ones do (`Pending.merged`), and the identifiers they touched are read back after them
(`AccountState.refresh`), so the next events see the same state a fresh lookup would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from recoms.store import activity, claims, contacts, products, recom_events
from recoms.store.db import now_ms

Pair = tuple[str, str]


@dataclass
class AccountState:
    """What one account's events in this transaction know: identifiers, carts, event keys, product patches."""

    account_id: int
    held: dict[Pair, contacts.Held | None] = field(default_factory=dict)  # None: nobody holds it
    carts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # contact -> lines, as of now
    dirty_carts: set[int] = field(default_factory=set)  # changed here, not yet written
    seen_keys: set[str] = field(default_factory=set)  # client event ids stored (before or in this transaction)
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)  # product id -> newest price/stock seen

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
        self.lookup(conn, pairs)

    def merged(self, loser: int, winner: int) -> None:
        """A merge re-pointed every identifier of the loser to the winner (so do the known holders), and
        moved or dropped the loser's cart (written before it: `Pending.before_slow_path`)."""
        for pair, held in self.held.items():
            if held is not None and held.contact_id == loser:
                self.held[pair] = contacts.Held(winner, held.verified)
        self.carts.pop(loser, None)
        self.carts.pop(winner, None)

    def cart(self, conn: sa.Connection, contact_id: int) -> list[dict[str, Any]]:
        if contact_id not in self.carts:
            self.carts[contact_id] = activity.carts_of(conn, self.account_id, [contact_id]).get(contact_id, [])
        return self.carts[contact_id]

    def set_cart(self, contact_id: int, lines: list[dict[str, Any]]) -> None:
        self.carts[contact_id] = lines
        self.dirty_carts.add(contact_id)

    def write_carts(self, conn: sa.Connection) -> None:
        activity.set_carts(conn, self.account_id, {c: self.carts[c] for c in self.dirty_carts})
        self.dirty_carts.clear()


class Pending:
    """The rows of one transaction, written at its end or before a slow path reads the database."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.received = now_ms()
        self.accounts: dict[int, AccountState] = {}
        self.events: list[list] = []  # activity.EVENT_COLUMNS
        self.interactions: list[list] = []  # activity.INTERACTION_COLUMNS
        self.recom_events: dict[int, list[dict[str, Any]]] = {}  # account -> impressions and clicks
        self.claims: set[tuple[int, int, int]] = set()  # (account, claimant, claimed), recorded once each

    def account(self, account_id: int) -> AccountState:
        state = self.accounts.get(account_id)
        if state is None:
            state = self.accounts[account_id] = AccountState(account_id)
        return state

    def prefetch(self, account_id: int, pairs: Iterable[Pair], keys: Iterable[str], cart_pairs: Iterable[Pair]) -> None:
        """One lookup for a whole group: identifiers, client event ids already stored, and the carts of the
        contacts that send cart events."""
        state = self.account(account_id)
        state.lookup(self.conn, pairs)
        new_keys = [key for key in keys if key not in state.seen_keys]
        if new_keys:
            state.seen_keys |= activity.known_event_keys(self.conn, account_id, new_keys)
        holders = {h.contact_id for h in (state.held.get(p) for p in cart_pairs) if h is not None}
        holders -= state.carts.keys()
        if holders:
            found = activity.carts_of(self.conn, account_id, holders)
            state.carts.update({c: found.get(c, []) for c in holders})

    def before_slow_path(self) -> None:
        """Write the carts a merge may move or drop (the rows held here follow it: `merged`)."""
        for state in self.accounts.values():
            if state.dirty_carts:
                state.write_carts(self.conn)

    def merged(self, account_id: int, loser: int, winner: int) -> None:
        """A merge moved the loser's stored rows to the winner (stamping where they came from): the rows
        still held here, the identifiers and carts known here, follow it."""
        self.account(account_id).merged(loser, winner)
        for rows in (self.events, self.interactions):
            for row in rows:
                if row[1] == loser and row[0] == account_id:
                    row[1] = winner
                    row[-1] = row[-1] or loser
        for row in self.recom_events.get(account_id, ()):
            if row["contact_id"] == loser:
                row["contact_id"] = winner

    def write_rows(self) -> None:
        for state in self.accounts.values():
            if state.dirty_carts:
                state.write_carts(self.conn)
        activity.insert_event_rows(self.conn, self.events)
        activity.insert_interaction_rows(self.conn, self.interactions)
        for account_id, rows in self.recom_events.items():
            recom_events.insert_known(self.conn, account_id, rows)
        claims.add_many(self.conn, self.claims)
        self.events, self.interactions, self.recom_events, self.claims = [], [], {}, set()

    def write_patches(self, state: AccountState) -> None:
        products.patch_many(self.conn, state.account_id, state.patches)
        state.patches = {}

    def finish(self) -> None:
        self.write_rows()
        for state in self.accounts.values():
            self.write_patches(state)
