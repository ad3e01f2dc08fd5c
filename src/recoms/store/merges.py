"""Merging two contacts, recorded (`contact_merges`) so that it can be undone.

A merge moves the loser's identifiers, interactions, events and orders to the winner, stamping each
moved row's `origin_contact_id` (once: a row moved twice keeps its first home), and leaves the loser as a
pointer (`merged_into`). Undoing it sends home every row whose origin is the loser, or a contact still
merged into the loser. Rows recorded after the merge stay with the winner: nothing says whose they are.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from recoms.store import history_marks
from recoms.store.bulk import json_text
from recoms.store.db import now_ms
from recoms.store.tables import carts, contact_identifiers, contact_merges, contacts, events, interactions, orders

cm = contact_merges
MOVED = (contact_identifiers, interactions, events, orders)


def move_sql(table: str, winner: str, loser: str, account: str) -> str:
    """A merge's move of one table's rows, with the placeholders given: by the (account, contact) index of
    each table (tests/store/test_identity_plan.py pins it)."""
    return (f"UPDATE {table} SET contact_id = {winner}, origin_contact_id = COALESCE(origin_contact_id, {loser}) "
            f"WHERE account_id = {account} AND contact_id = {loser}")


# `merge` in one round trip: the statements of the SQLite path as data-modifying CTEs. They all see the
# database as it was before the statement, which is what the SQLite path reads before it writes (the
# carts and attributes of both contacts), and each updates rows of its own.
MERGE_POSTGRES = f"""
WITH {",".join(f"moved_{t.name} AS ({move_sql(t.name, '%(winner)s', '%(loser)s', '%(account)s')})"
              for t in MOVED)},
loser_cart AS (SELECT lines FROM carts WHERE account_id = %(account)s AND contact_id = %(loser)s),
winner_cart AS (SELECT 1 FROM carts WHERE account_id = %(account)s AND contact_id = %(winner)s),
cart_moved AS (UPDATE carts SET contact_id = %(winner)s WHERE account_id = %(account)s
               AND contact_id = %(loser)s AND NOT EXISTS (SELECT 1 FROM winner_cart)),
cart_dropped AS (DELETE FROM carts WHERE account_id = %(account)s AND contact_id = %(loser)s
                 AND EXISTS (SELECT 1 FROM winner_cart)),
loser_attributes AS (SELECT attributes FROM contacts WHERE account_id = %(account)s AND id = %(loser)s),
winner_attributes AS (SELECT attributes FROM contacts WHERE account_id = %(account)s AND id = %(winner)s),
winner_joined AS (  -- the loser's attributes joined, and a new history mark (store.history_marks)
    UPDATE contacts SET attributes = CASE WHEN l.attributes::jsonb <> '{{}}'
                                          THEN (l.attributes::jsonb || contacts.attributes::jsonb)::json
                                          ELSE contacts.attributes END,
                        updated_at = CASE WHEN l.attributes::jsonb <> '{{}}' THEN %(now)s ELSE contacts.updated_at END,
                        history_mark = %(mark)s
    FROM (SELECT 1) AS one LEFT JOIN loser_attributes AS l ON true
    WHERE contacts.account_id = %(account)s AND contacts.id = %(winner)s),
pointed AS (UPDATE contacts SET merged_into = %(winner)s, updated_at = %(now)s
            WHERE account_id = %(account)s AND (id = %(loser)s OR merged_into = %(loser)s))
INSERT INTO contact_merges (account_id, loser_id, winner_id, reason, created_at, undo)
SELECT %(account)s, %(loser)s, %(winner)s, %(reason)s, %(now)s, json_build_object(
    'winner_attributes', COALESCE((SELECT attributes FROM winner_attributes), '{{}}'::json),
    'loser_cart', (SELECT lines FROM loser_cart),
    'cart_moved', EXISTS (SELECT 1 FROM loser_cart) AND NOT EXISTS (SELECT 1 FROM winner_cart))
RETURNING id
"""


def _merge_postgres(conn: sa.Connection, account_id: int, loser: int, winner: int, reason: str) -> int:
    """`merge` on PostgreSQL: one statement (a returning customer's every new device merges once; the
    SQLite path's eleven statements were eleven round trips)."""
    return conn.exec_driver_sql(MERGE_POSTGRES, {
        "account": account_id, "loser": loser, "winner": winner, "reason": reason[:200], "now": now_ms(),
        "mark": history_marks.new_mark(),
    }).scalar_one()


def merge(conn: sa.Connection, account_id: int, loser: int, winner: int, reason: str) -> int:
    """Move everything of `loser` to `winner`; `loser` remains as a pointer. The merge's record id.

    The statements go through the driver: imports merge a returning customer's new device into its
    contact once per device, and SQLAlchemy's statement building cost more than the statements (its
    insert of the record alone: 190 µs, against 40)."""
    if conn.dialect.name == "postgresql":
        return _merge_postgres(conn, account_id, loser, winner, reason)
    m = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for table in MOVED:
        conn.exec_driver_sql(move_sql(table.name, m, m, m), (winner, loser, account_id, loser))
    loser_cart = _cart(conn, account_id, loser)
    cart_moved = loser_cart is not None and _cart(conn, account_id, winner) is None
    if loser_cart is not None:
        change = f"UPDATE carts SET contact_id = {m}" if cart_moved else "DELETE FROM carts"
        conn.exec_driver_sql(f"{change} WHERE account_id = {m} AND contact_id = {m}",
                             ((winner,) if cart_moved else ()) + (account_id, loser))
    attrs = _attributes(conn, account_id, [loser, winner])
    now = now_ms()
    if attrs.get(loser):
        conn.exec_driver_sql(f"UPDATE contacts SET attributes = {m}, updated_at = {m} WHERE id = {m}",
                             (json_text({**attrs[loser], **attrs.get(winner, {})}), now, winner))
    # The loser and the contacts merged into it point at the winner (flat). Two statements: an OR of the
    # two makes SQLite scan the account's contacts, and a merge per new customer made imports quadratic.
    for which in ("id", "merged_into"):
        conn.exec_driver_sql(f"UPDATE contacts SET merged_into = {m}, updated_at = {m} WHERE account_id = {m} "
                             f"AND {which} = {m}", (winner, now, account_id, loser))
    history_marks.changed(conn, account_id, [winner])  # the loser's rows joined its history
    undo = {"winner_attributes": attrs.get(winner, {}), "loser_cart": loser_cart, "cart_moved": cart_moved}
    return conn.exec_driver_sql(
        "INSERT INTO contact_merges (account_id, loser_id, winner_id, reason, created_at, undo) "
        f"VALUES ({m}, {m}, {m}, {m}, {m}, {m}) RETURNING id",
        (account_id, loser, winner, reason[:200], now, json_text(undo))).scalar_one()


def _cart(conn: sa.Connection, account_id: int, contact_id: int) -> list[dict[str, Any]] | None:
    m = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    row = conn.exec_driver_sql(f"SELECT lines FROM carts WHERE account_id = {m} AND contact_id = {m}",
                               (account_id, contact_id)).first()
    if row is None:
        return None
    return list(orjson.loads(row[0]) if isinstance(row[0], (str, bytes)) else row[0])  # SQLite gives text


def _attributes(conn: sa.Connection, account_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    m = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    rows = conn.exec_driver_sql(
        f"SELECT id, attributes FROM contacts WHERE account_id = {m} AND id IN ({', '.join([m] * len(ids))})",
        (account_id, *ids))
    return {i: dict(orjson.loads(a) if isinstance(a, (str, bytes)) else a) for i, a in rows}  # SQLite gives text


def get(conn: sa.Connection, account_id: int, merge_id: int) -> sa.Row | None:
    return conn.execute(sa.select(cm).where(cm.c.account_id == account_id, cm.c.id == merge_id)).first()


def active_merge_of(conn: sa.Connection, account_id: int, loser: int) -> sa.Row | None:
    """The merge (not undone) that made `loser` part of another contact."""
    return conn.execute(
        sa.select(cm).where(cm.c.account_id == account_id, cm.c.loser_id == loser, cm.c.undone_at.is_(None))
        .order_by(cm.c.id.desc())
    ).first()


def unmerge(conn: sa.Connection, account_id: int, record: sa.Row) -> None:
    """Undo one recorded merge: the loser gets its identifiers, rows, cart and attributes back."""
    loser, winner = record.loser_id, record.winner_id
    # The loser's own followers: contacts merged into it (by merges still in force) come back with it.
    group, frontier = {loser}, {loser}
    while frontier:
        frontier = set(conn.execute(sa.select(cm.c.loser_id).where(
            cm.c.account_id == account_id, cm.c.winner_id.in_(frontier), cm.c.undone_at.is_(None),
            cm.c.id != record.id)).scalars()) - group
        group |= frontier
    followers = sorted(group - {loser})
    live_winner = conn.execute(sa.select(sa.func.coalesce(contacts.c.merged_into, contacts.c.id)).where(
        contacts.c.account_id == account_id, contacts.c.id == winner)).scalar() or winner
    for table in MOVED:
        conn.execute(table.update().where(table.c.account_id == account_id, table.c.origin_contact_id == loser)
                     .values(contact_id=loser, origin_contact_id=None))
        if followers:
            conn.execute(table.update().where(table.c.account_id == account_id,
                                              table.c.origin_contact_id.in_(followers)).values(contact_id=loser))
    now = now_ms()
    conn.execute(contacts.update().where(contacts.c.account_id == account_id, contacts.c.id == loser)
                 .values(merged_into=None, updated_at=now))
    if followers:
        conn.execute(contacts.update().where(contacts.c.account_id == account_id, contacts.c.id.in_(followers))
                     .values(merged_into=loser, updated_at=now))
    _undo_state(conn, account_id, loser, [winner] if live_winner == winner else [winner, live_winner],
                record.undo or {})
    history_marks.changed(conn, account_id, [loser, winner, live_winner])  # rows went home
    conn.execute(cm.update().where(cm.c.id == record.id).values(undone_at=now))


def _undo_state(conn: sa.Connection, account_id: int, loser: int, winners: list[int], undo: dict[str, Any]) -> None:
    """The winner's attributes without what only the loser brought (later changes kept), on its own row and
    on the live contact it may since have been merged into (the last of `winners`); the loser's cart."""
    before = undo.get("winner_attributes")
    if before is not None:
        attrs = _attributes(conn, account_id, [loser, *winners])
        brought, missing = attrs.get(loser, {}), object()
        for winner in winners:
            kept = {k: v for k, v in attrs.get(winner, {}).items() if k in before or brought.get(k, missing) != v}
            conn.execute(contacts.update().where(contacts.c.id == winner).values(attributes=kept, updated_at=now_ms()))
    cart, live = undo.get("loser_cart"), winners[-1]
    if cart is None:
        return
    if undo.get("cart_moved") and _cart(conn, account_id, live) == cart:  # still the loser's, untouched
        conn.execute(carts.delete().where(carts.c.account_id == account_id, carts.c.contact_id == live))
    if _cart(conn, account_id, loser) is None:
        conn.execute(carts.insert().values(account_id=account_id, contact_id=loser, lines=cart, updated_at=now_ms()))


def of(conn: sa.Connection, account_id: int, contact_ids: list[int]) -> list[dict[str, Any]]:
    """Every merge these contacts took part in, oldest first."""
    rows = conn.execute(sa.select(cm).where(
        cm.c.account_id == account_id, sa.or_(cm.c.loser_id.in_(contact_ids), cm.c.winner_id.in_(contact_ids))
    ).order_by(cm.c.id))
    return [to_json(r) for r in rows]


def to_json(r: sa.Row) -> dict[str, Any]:
    return {"id": r.id, "loserId": r.loser_id, "winnerId": r.winner_id, "reason": r.reason,
            "createdAt": r.created_at, "undoneAt": r.undone_at}


def forget(conn: sa.Connection, account_id: int, contact_ids: list[int]) -> None:
    """An erased person's merge records (they name the person's contacts and what linked them)."""
    conn.execute(cm.delete().where(
        cm.c.account_id == account_id, sa.or_(cm.c.loser_id.in_(contact_ids), cm.c.winner_id.in_(contact_ids))
    ))
