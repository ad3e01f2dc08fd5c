"""Contacts and their identifiers: resolution and merging (SPEC §2, §3).

Identifiers always point at a live contact: a merge re-points them, moves the history, and leaves the
old contact with `merged_into` set (kept flat), so ids held elsewhere (tokens) still lead home.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from recoms.domain.identity import KINDS
from recoms.store.db import now_ms
from recoms.store.tables import carts, contact_identifiers, contacts, events, interactions, orders, recom_events, tokens

ci = contact_identifiers


def _lookup(conn: sa.Connection, account_id: int, ids: dict[str, str]) -> dict[str, int]:
    wanted = sa.or_(*(sa.and_(ci.c.kind == kind, ci.c.value == value) for kind, value in ids.items()))
    rows = conn.execute(sa.select(ci.c.kind, ci.c.contact_id).where(ci.c.account_id == account_id, wanted))
    return {row.kind: row.contact_id for row in rows}


def _identifiers_of(conn: sa.Connection, account_id: int, contact_id: int, kind: str) -> set[str]:
    rows = conn.execute(
        sa.select(ci.c.value).where(ci.c.account_id == account_id, ci.c.contact_id == contact_id, ci.c.kind == kind)
    )
    return {r.value for r in rows}


def create_contact(conn: sa.Connection, account_id: int, attributes: dict[str, Any] | None = None) -> int:
    now = now_ms()
    return conn.execute(
        contacts.insert().values(
            account_id=account_id, attributes=attributes or {}, created_at=now, updated_at=now
        )
    ).inserted_primary_key[0]


def resolve(
    conn: sa.Connection, account_id: int, ids: dict[str, str], create: bool = True,
    on_merge: Callable[[int, int], None] | None = None,
) -> int | None:
    """The contact these identifiers name: found, merged, or created; the new identifiers attached.

    `on_merge(loser, winner)` is told of every merge (callers holding contact ids re-point them).
    """
    if not ids:
        return None
    found = _lookup(conn, account_id, ids)
    primary = next((found[kind] for kind in KINDS if kind in found), None)
    new_customer_id = ids.get("external_id") if "external_id" not in found else None
    if primary is not None and new_customer_id and _identifiers_of(conn, account_id, primary, "external_id"):
        primary = None  # another customer sharing an email or phone: a contact of its own
    if primary is None:
        if not create:
            return None
        primary = create_contact(conn, account_id)
    claimed = {new_customer_id} if new_customer_id else set()
    for kind in KINDS:
        other = found.get(kind)
        if other is not None and other != primary and _may_merge(conn, account_id, primary, other, claimed):
            merge(conn, account_id, loser=other, winner=primary)
            if on_merge is not None:
                on_merge(other, primary)
    now = now_ms()
    missing = [
        {"account_id": account_id, "kind": kind, "value": value, "contact_id": primary, "created_at": now}
        for kind, value in ids.items()
        if kind not in found
    ]
    if missing:
        conn.execute(ci.insert(), missing)
    return primary


def _may_merge(conn: sa.Connection, account_id: int, a: int, b: int, claimed: set[str]) -> bool:
    # Two contacts the shop itself knows by different customer ids are two people sharing, say, a
    # phone: keep them apart. `claimed` is a customer id `a` is about to receive.
    ext_a = _identifiers_of(conn, account_id, a, "external_id") | claimed
    ext_b = _identifiers_of(conn, account_id, b, "external_id")
    return not (ext_a and ext_b and not ext_a & ext_b)


def merge(conn: sa.Connection, account_id: int, loser: int, winner: int) -> None:
    """Move everything of `loser` to `winner`; `loser` remains as a pointer."""
    for table in (ci, interactions, events, orders):
        conn.execute(
            table.update()
            .where(table.c.account_id == account_id, table.c.contact_id == loser)
            .values(contact_id=winner)
        )
    winner_cart = conn.execute(
        sa.select(carts.c.contact_id).where(carts.c.account_id == account_id, carts.c.contact_id == winner)
    ).first()
    if winner_cart:
        conn.execute(carts.delete().where(carts.c.account_id == account_id, carts.c.contact_id == loser))
    else:
        conn.execute(
            carts.update()
            .where(carts.c.account_id == account_id, carts.c.contact_id == loser)
            .values(contact_id=winner)
        )
    attrs = {
        r.id: r.attributes
        for r in conn.execute(
            sa.select(contacts.c.id, contacts.c.attributes).where(
                contacts.c.account_id == account_id, contacts.c.id.in_([loser, winner])
            )
        )
    }
    merged_attrs = {**attrs.get(loser, {}), **attrs.get(winner, {})}
    now = now_ms()
    conn.execute(
        contacts.update().where(contacts.c.id == winner).values(attributes=merged_attrs, updated_at=now)
    )
    conn.execute(
        contacts.update()
        .where(contacts.c.account_id == account_id, sa.or_(contacts.c.id == loser, contacts.c.merged_into == loser))
        .values(merged_into=winner, updated_at=now)
    )


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
    if row is None:
        return
    conn.execute(
        contacts.update()
        .where(contacts.c.id == contact_id)
        .values(attributes={**row.attributes, **values}, updated_at=now_ms())
    )


def get_contact(conn: sa.Connection, account_id: int, contact_id: int) -> dict[str, Any] | None:
    contact_id = canonical_id(conn, account_id, contact_id)
    if contact_id is None:
        return None
    row = conn.execute(sa.select(contacts).where(contacts.c.id == contact_id)).first()
    idents: dict[str, list[str]] = {}
    for r in conn.execute(
        sa.select(ci.c.kind, ci.c.value).where(ci.c.account_id == account_id, ci.c.contact_id == contact_id)
    ):
        idents.setdefault(r.kind, []).append(r.value)
    return {
        "id": row.id,
        "attributes": row.attributes,
        "identifiers": idents,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


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
    """Forget a person: identifiers, events, cart, attributes, tokens and the contact itself.

    Their orders and purchases stay, linked to nobody: store-wide figures (bestsellers, bought
    together) keep them, and no model can tie them to the person after the next training.
    """
    ids = [contact_id, *conn.execute(
        sa.select(contacts.c.id).where(contacts.c.account_id == account_id, contacts.c.merged_into == contact_id)
    ).scalars()]
    for table in (ci, events, carts, tokens):
        conn.execute(table.delete().where(table.c.account_id == account_id, table.c.contact_id.in_(ids)))
    for table in (interactions, orders, recom_events):
        conn.execute(
            table.update().where(table.c.account_id == account_id, table.c.contact_id.in_(ids)).values(contact_id=None)
        )
    conn.execute(contacts.delete().where(contacts.c.account_id == account_id, contacts.c.id.in_(ids)))
