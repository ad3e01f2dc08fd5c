"""Identity claims (the `contact_claims` table): "this visitor is that customer", said with only a public key.

A claim never moves data and never grants access: serving reads a contact's own rows only. Training
alone reads claims, to learn from the visitor's history as the claimed customer's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recoms.store.db import now_ms
from recoms.store.tables import contact_claims, contacts
from recoms.store.upsert import upsert

cc = contact_claims


def add(conn: sa.Connection, account_id: int, claimant: int, claimed: int) -> None:
    if claimant != claimed:
        upsert(conn, cc, [{"account_id": account_id, "contact_id": claimant, "claimed_id": claimed,
                           "created_at": now_ms()}], ("account_id", "contact_id", "claimed_id"), ())


def add_many(conn: sa.Connection, claims: set[tuple[int, int, int]]) -> None:
    """(account, claimant, claimed) claims at once; those already recorded are left as they are."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    now = now_ms()
    rows = sorted((a, c, t, now) for a, c, t in claims if c != t)
    if rows:
        conn.exec_driver_sql(
            f"INSERT INTO contact_claims (account_id, contact_id, claimed_id, created_at) VALUES ({mark}, {mark}, "
            f"{mark}, {mark}) ON CONFLICT (account_id, contact_id, claimed_id) DO NOTHING", rows)


def of(conn: sa.Connection, account_id: int, contact_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """The claims these contacts made, and those made on them."""
    rows = conn.execute(sa.select(cc).where(
        cc.c.account_id == account_id, sa.or_(cc.c.contact_id.in_(contact_ids), cc.c.claimed_id.in_(contact_ids))
    ).order_by(cc.c.created_at))
    found: dict[str, list[dict[str, Any]]] = {"made": [], "received": []}
    for r in rows:
        claim = {"contactId": r.contact_id, "claimedId": r.claimed_id, "createdAt": r.created_at}
        found["made" if r.contact_id in contact_ids else "received"].append(claim)
    return found


def training_map(conn: sa.Connection, account_id: int) -> dict[int, int]:
    """Claimant contact id -> the live contact it claims to be (its newest claim wins)."""
    live = sa.func.coalesce(contacts.c.merged_into, contacts.c.id)
    rows = conn.execute(
        sa.select(cc.c.contact_id, live.label("claimed"))
        .join(contacts, sa.and_(contacts.c.account_id == cc.c.account_id, contacts.c.id == cc.c.claimed_id))
        .where(cc.c.account_id == account_id)
        .order_by(cc.c.created_at, cc.c.claimed_id)
    )
    return {r.contact_id: r.claimed for r in rows if r.contact_id != r.claimed}


def forget(conn: sa.Connection, account_id: int, contact_ids: list[int]) -> None:
    """An erased person's claims, both ways."""
    conn.execute(cc.delete().where(
        cc.c.account_id == account_id, sa.or_(cc.c.contact_id.in_(contact_ids), cc.c.claimed_id.in_(contact_ids))
    ))
