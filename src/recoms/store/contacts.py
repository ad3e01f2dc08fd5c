"""Contacts and their identifiers: resolution, trust and merging (SPEC §2, §3).

Identifiers always point at a live contact: a merge re-points them, moves the history, and leaves the
old contact with `merged_into` set (kept flat), so ids held elsewhere (tokens) still lead home.

Trust: the shop's server (an API key) makes verified links; identifiers that come with only a public key
(the browser's site id, the app's mobile key) are claims. A claim never attaches a customer's identifier
to the visitor, never merges, and never lets a lookup by the shop's server reach a contact: the visitor
keeps a contact of its own, and the claim is recorded for training (store.claims).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import sqlalchemy as sa

from recoms.domain.identity import KINDS
from recoms.store import claims, merges
from recoms.store.bulk import one_of, text_array
from recoms.store.db import DriverConnections, now_ms
from recoms.store.tables import (
    carts,
    contact_identifiers,
    contacts,
    events,
    interactions,
    orders,
    recom_events,
    recommendation_log,
    token_chains,
)

ci = contact_identifiers

# The visitor's own device identifiers: whoever sends them is that browser or app, whatever key it holds.
DEVICE_KINDS = ("pseudo_id", "cookie")
# The customer's identifiers: a public caller may only claim them.
CUSTOMER_KINDS = ("external_id", "email", "phone")


class Held(NamedTuple):
    contact_id: int
    verified: bool


HELD_CHUNK = 400  # identifiers a statement on SQLite: 801 parameters, under its historic limit of 999

# PostgreSQL, a batch's identifiers: the pairs as two text arrays, so that the statement's text is the same
# for any number of them (psycopg prepares a statement run five times: a VALUES list per count made it
# prepare, and evict, a statement for nearly every batch). One probe of the key a pair: LATERAL with
# LIMIT 1 (it is unique).
HELD_POSTGRES = (
    "SELECT wanted.kind, wanted.value, ci.contact_id, ci.verified FROM unnest(%s::text[], %s::text[]) "
    "AS wanted (kind, value), LATERAL (SELECT contact_id, verified FROM contact_identifiers "
    "WHERE account_id = %s AND kind = wanted.kind AND value = wanted.value LIMIT 1) AS ci")


def held_query(pairs: list[tuple[str, str]], account_id: int, paramstyle: str) -> tuple[str, tuple]:
    """The statement and parameters asking who holds these (kind, value) identifiers of one account, one
    point lookup on the (account, kind, value) key each (at most HELD_CHUNK of them on SQLite).

    An OR of the pairs makes SQLite scan every identifier of the account (import and tracking then slow
    down as the contacts grow), and PostgreSQL hash-joins a long list against a scan of them.
    tests/store/test_identity_plan.py pins the plan on SQLite and PostgreSQL.
    """
    if paramstyle != "qmark" and len(pairs) > len(KINDS):
        return HELD_POSTGRES, (text_array([kind for kind, _ in pairs]), text_array([value for _, value in pairs]),
                               account_id)
    flat = (*(v for pair in pairs for v in pair), account_id)
    if paramstyle == "qmark":
        rows = ", ".join(["(?, ?)"] * len(pairs))
        return (f"WITH wanted (kind, value) AS (VALUES {rows}) "
                "SELECT ci.kind, ci.value, ci.contact_id, ci.verified FROM wanted JOIN contact_identifiers AS ci "
                "ON ci.account_id = ? AND ci.kind = wanted.kind AND ci.value = wanted.value", flat)
    # An event's or a request's own handful (the hot path's): a VALUES list is quicker than arrays.
    rows = ", ".join(["(%s, %s)"] * len(pairs))
    return (f"SELECT wanted.kind, wanted.value, ci.contact_id, ci.verified FROM (VALUES {rows}) "
            "AS wanted (kind, value), LATERAL (SELECT contact_id, verified FROM contact_identifiers "
            "WHERE account_id = %s AND kind = wanted.kind AND value = wanted.value LIMIT 1) AS ci", flat)


def held_many(conn: sa.Connection, account_id: int, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Held]:
    """Who holds each of many identifiers (a batch of events at once), through the driver (this runs for
    every tracking transaction)."""
    pairs = list(dict.fromkeys(pairs))
    chunk = HELD_CHUNK if conn.dialect.paramstyle == "qmark" else max(len(pairs), 1)
    found: dict[tuple[str, str], Held] = {}
    for start in range(0, len(pairs), chunk):
        sql, params = held_query(pairs[start:start + chunk], account_id, conn.dialect.paramstyle)
        for kind, value, contact_id, verified in conn.exec_driver_sql(sql, params):
            found[(kind, value)] = Held(contact_id, bool(verified))
    return found


def attach_new(conn: sa.Connection, account_id: int, ids: dict[str, str], verified: bool) -> int:
    """A new contact holding these identifiers (nobody holds any of them: the caller checked). Two
    statements through the driver: this runs for every new visitor."""
    contact_id = create_contact(conn, account_id)
    _attach(conn, account_id, contact_id, ids, verified)
    return contact_id


def _mark(conn: sa.Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _held(conn: sa.Connection, account_id: int, ids: dict[str, str]) -> dict[str, Held]:
    return {kind: held for (kind, _value), held in held_many(conn, account_id, ids.items()).items()}


def with_customer_id(conn: sa.Connection, account_id: int, contact_ids: Iterable[int]) -> set[int]:
    """Which of these contacts hold a verified customer id. By (account, contact) only: with the kind too,
    PostgreSQL reads every identifier of that kind in the account through the key."""
    ordered = sorted(set(contact_ids))
    found: set[int] = set()
    for start in range(0, len(ordered), 500):
        among, params = one_of(conn, "contact_id", ordered[start:start + 500])
        rows = conn.exec_driver_sql(
            f"SELECT contact_id, kind, verified FROM contact_identifiers WHERE account_id = {_mark(conn)} AND {among}",
            (account_id, *params))
        found.update(contact_id for contact_id, kind, verified in rows if kind == "external_id" and verified)
    return found


def create_contact(conn: sa.Connection, account_id: int, attributes: dict[str, Any] | None = None) -> int:
    """A new contact (through the driver: the ingestion path makes one for every new visitor)."""
    if attributes:
        now = now_ms()
        return conn.execute(contacts.insert().values(
            account_id=account_id, attributes=attributes, created_at=now, updated_at=now)).inserted_primary_key[0]
    m, now = _mark(conn), now_ms()
    return conn.exec_driver_sql(
        f"INSERT INTO contacts (account_id, attributes, created_at, updated_at) VALUES ({m}, '{{}}', {m}, {m}) "
        "RETURNING id", (account_id, now, now)).scalar_one()


def lookup(conn: sa.Connection, account_id: int, ids: dict[str, str]) -> int | None:
    """The contact the strongest verified identifier names; reads only. A claimed identifier names nobody."""
    if not ids:
        return None
    found = {kind: h.contact_id for kind, h in _held(conn, account_id, ids).items() if h.verified}
    return next((found[kind] for kind in KINDS if kind in found), None)


def lookup_on(connections: DriverConnections, account_id: int, ids: dict[str, str]) -> int | None:
    """`lookup` as one statement on the hot path's driver connections (a server's recommendation call)."""
    if not ids:
        return None
    sql, params = held_query(list(ids.items()), account_id, connections.engine.dialect.paramstyle)
    rows = connections.execute(sql, params)
    found = {kind: contact_id for kind, _value, contact_id, verified in rows if verified}
    return next((found[kind] for kind in KINDS if kind in found), None)


def resolve(
    conn: sa.Connection, account_id: int, ids: dict[str, str], create: bool = True,
    on_merge: Callable[[int, int], None] | None = None, caller: str = "api",
    held: dict[str, Held] | None = None, known_customers: dict[int, bool] | None = None,
) -> int | None:
    """Verified identifiers (the shop's server): the contact they name, found, merged or created; the new
    identifiers attached, and any the public side only claimed adopted as verified. `create=False` only looks.

    `on_merge(loser, winner)` is told of every merge (callers holding contact ids re-point them); each
    merge is recorded with `caller` and the kind of identifier that linked the two. A caller that knows who
    holds the identifiers (`held`, by kind: the stored state) and whether some contacts hold a customer id
    (`known_customers`) saves the statements that would read them; its `held` is updated to who holds the
    identifiers afterwards.
    """
    if not create:
        return lookup(conn, account_id, ids)
    if not ids:
        return None
    if held is None:
        held = _held(conn, account_id, ids)
    found = {kind: h.contact_id for kind, h in held.items() if h.verified}
    primary = next((found[kind] for kind in KINDS if kind in found), None)
    new_customer_id = ids.get("external_id") if "external_id" not in found else None
    # Whether each contact involved holds a customer id (a merge or a new customer asks of each).
    involved = set(found.values()) if new_customer_id or len(set(found.values())) > 1 else set()
    known = {c: v for c, v in (known_customers or {}).items() if c in involved}
    customers = {**dict.fromkeys(involved - known.keys(), False), **known}
    customers.update(dict.fromkeys(with_customer_id(conn, account_id, involved - known.keys()), True))
    if primary is not None and new_customer_id and customers.get(primary):
        primary = None  # another customer sharing an email or phone: a contact of its own
    if primary is None:
        primary = create_contact(conn, account_id)
    merged_away: set[int] = set()
    for kind in KINDS:
        other = found.get(kind)
        # Two contacts the shop itself knows by customer ids (a customer id is held by one contact only, so
        # theirs differ) are two people sharing, say, a phone: kept apart. So is a contact about to get
        # a customer id from one that has one.
        if other is not None and other != primary and other not in merged_away and not (
                (customers.get(primary) or new_customer_id) and customers.get(other)):
            merges.merge(conn, account_id, loser=other, winner=primary, reason=f"{caller}: {kind}")
            merged_away.add(other)  # once, whichever of its identifiers named it
            customers[primary] = customers.get(primary) or customers.pop(other, False)
            if on_merge is not None:
                on_merge(other, primary)
    _attach(conn, account_id, primary, {k: v for k, v in ids.items() if k not in held}, verified=True)
    for kind, h in held.items():
        if not h.verified:
            # The shop vouches for an identifier a visitor only claimed: it is the verified contact's now;
            # the claimant keeps its history and a claim (training joins them, serving does not).
            conn.execute(ci.update().where(ci.c.account_id == account_id, ci.c.kind == kind,
                                           ci.c.value == ids[kind]).values(contact_id=primary, verified=True))
            claims.add(conn, account_id, h.contact_id, primary)
    for kind in ids:  # who holds them now: the caller's `held` is kept true
        h = held.get(kind)
        if h is None or not h.verified or h.contact_id == primary or h.contact_id in merged_away:
            held[kind] = Held(primary, True)
    return primary


def resolve_claimed(
    conn: sa.Connection, account_id: int, ids: dict[str, str], claimed: Iterable[int] = (), own: int | None = None,
) -> int:
    """Identifiers sent with only a public key: the visitor's own contact, never a customer's.

    The visitor is `own` (the contact this request already resolved for it), else its device (cookie, app
    instance): the contact holding those, else — when it sent no device identifier — the contact an
    earlier claim of these identifiers made, else a new one. Identifiers nobody holds are attached to it
    (customer ones unverified); customer identifiers a verified contact holds, and `claimed` contact ids
    (user_es_contact_id), become claims of it.
    """
    held = _held(conn, account_id, ids) if ids else {}
    if own is None:
        own = next((held[k].contact_id for k in DEVICE_KINDS if k in held), None)
    if own is None and not any(k in ids for k in DEVICE_KINDS):
        own = next((held[k].contact_id for k in CUSTOMER_KINDS if k in held and not held[k].verified), None)
    if own is None:
        own = create_contact(conn, account_id)
    _attach(conn, account_id, own, {k: v for k, v in ids.items() if k in DEVICE_KINDS and k not in held},
            verified=True)
    _attach(conn, account_id, own, {k: v for k, v in ids.items() if k in CUSTOMER_KINDS and k not in held},
            verified=False)
    targets = {h.contact_id for k, h in held.items() if k in CUSTOMER_KINDS and h.verified} | set(claimed)
    for target in sorted(targets - {own}):
        claims.add(conn, account_id, own, target)
    return own


def _attach(conn: sa.Connection, account_id: int, contact_id: int, ids: dict[str, str], verified: bool) -> None:
    if ids:
        m, now = _mark(conn), now_ms()
        conn.exec_driver_sql(
            "INSERT INTO contact_identifiers (account_id, kind, value, contact_id, created_at, verified) "
            f"VALUES ({m}, {m}, {m}, {m}, {m}, {m})",
            [(account_id, kind, value, contact_id, now, verified) for kind, value in ids.items()])


def merge(conn: sa.Connection, account_id: int, loser: int, winner: int, reason: str = "api") -> int:
    """Move everything of `loser` to `winner` (recorded, undoable: store.merges)."""
    return merges.merge(conn, account_id, loser, winner, reason)


def canonical_id(conn: sa.Connection, account_id: int, contact_id: int) -> int | None:
    row = conn.execute(
        sa.select(contacts.c.id, contacts.c.merged_into).where(
            contacts.c.account_id == account_id, contacts.c.id == contact_id
        )
    ).first()
    if row is None:
        return None
    return row.merged_into or row.id


def set_attributes(conn: sa.Connection, account_id: int, contact_id: int, values: dict[str, Any]) -> None:
    row = conn.execute(
        sa.select(contacts.c.attributes).where(contacts.c.account_id == account_id, contacts.c.id == contact_id)
    ).first()
    missing = object()
    if row is None or all(row.attributes.get(k, missing) == v for k, v in values.items()):
        return  # sent again as it was (every login does): nothing to write
    conn.execute(
        contacts.update()
        .where(contacts.c.id == contact_id)
        .values(attributes={**row.attributes, **values}, updated_at=now_ms())
    )


def get_contact(conn: sa.Connection, account_id: int, contact_id: int) -> dict[str, Any] | None:
    """A contact's identifiers (those it only claimed apart) and attributes, following a merge."""
    contact_id = canonical_id(conn, account_id, contact_id)
    if contact_id is None:
        return None
    row = conn.execute(sa.select(contacts).where(contacts.c.id == contact_id)).first()
    idents: dict[bool, dict[str, list[str]]] = {True: {}, False: {}}
    for r in conn.execute(sa.select(ci.c.kind, ci.c.value, ci.c.verified)
                          .where(ci.c.account_id == account_id, ci.c.contact_id == contact_id)
                          .order_by(ci.c.kind, ci.c.value)):
        idents[bool(r.verified)].setdefault(r.kind, []).append(r.value)
    found = {
        "id": row.id,
        "attributes": row.attributes,
        "identifiers": idents[True],
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }
    if idents[False]:
        found["unverifiedIdentifiers"] = idents[False]
    return found


def identifier_rows(conn: sa.Connection, account_id: int, contact_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(ci).where(ci.c.account_id == account_id, ci.c.contact_id == contact_id)
                        .order_by(ci.c.kind, ci.c.value))
    return [{"kind": r.kind, "value": r.value, "verified": bool(r.verified), "createdAt": r.created_at,
             "originContactId": r.origin_contact_id} for r in rows]


def merged_into(conn: sa.Connection, account_id: int, contact_id: int) -> list[int]:
    """The contacts merged into this one (they are part of it until a merge is undone)."""
    return list(conn.execute(sa.select(contacts.c.id).where(
        contacts.c.account_id == account_id, contacts.c.merged_into == contact_id).order_by(contacts.c.id)).scalars())


def origin_of(conn: sa.Connection, account_id: int, ids: dict[str, str]) -> int | None:
    """The contact a (verified) identifier belonged to before a merge moved it, if one did."""
    for kind in KINDS:
        if kind in ids:
            row = conn.execute(sa.select(ci.c.origin_contact_id).where(
                ci.c.account_id == account_id, ci.c.kind == kind, ci.c.value == ids[kind])).first()
            if row is not None:
                return row.origin_contact_id
    return None


def live_contact_sql(account_id: int, contact_id: int) -> sa.ScalarSelect:
    """The live id of a possibly merged contact, as a subquery (keeps reads to one statement)."""
    return (
        sa.select(sa.func.coalesce(contacts.c.merged_into, contacts.c.id))
        .where(contacts.c.account_id == account_id, contacts.c.id == contact_id)
        .scalar_subquery()
    )


def remove_identifiers(conn: sa.Connection, account_id: int, contact_id: int, kinds: set[str]) -> None:
    """The contact no longer has these kinds of identifier (a shop removed a phone, say)."""
    if kinds:
        conn.execute(ci.delete().where(ci.c.account_id == account_id, ci.c.contact_id == contact_id,
                                       ci.c.kind.in_(sorted(kinds))))


def erase(conn: sa.Connection, account_id: int, contact_id: int) -> None:
    """Forget a person: identifiers, events, cart, attributes, tokens, claims, merge records and the contact.

    Their orders and purchases stay, linked to nobody: store-wide figures (bestsellers, bought
    together) keep them, and no model can tie them to the person after the next training.
    """
    ids = [contact_id, *merged_into(conn, account_id, contact_id)]
    for table in (ci, events, carts, token_chains):
        conn.execute(table.delete().where(table.c.account_id == account_id, table.c.contact_id.in_(ids)))
    for table in (interactions, orders, recom_events, recommendation_log):
        conn.execute(
            table.update().where(table.c.account_id == account_id, table.c.contact_id.in_(ids)).values(contact_id=None)
        )
    for table in merges.MOVED:
        conn.execute(table.update().where(table.c.account_id == account_id, table.c.origin_contact_id.in_(ids))
                     .values(origin_contact_id=None))
    claims.forget(conn, account_id, ids)
    merges.forget(conn, account_id, ids)
    conn.execute(contacts.delete().where(contacts.c.account_id == account_id, contacts.c.id.in_(ids)))
