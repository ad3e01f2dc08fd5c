"""A contact's history mark: a value that changes whenever the contact's interactions change.

Serving keeps a returning customer's answer while their history stays what it was (services.recoms): one
primary-key read of the mark replaces reading and scoring their newest events. Every writer of
interactions sets a new mark on the contacts whose rows it adds, removes or moves, in the same
transaction (a reader that sees the new rows sees the new mark); a mark is random, so a contact never
gets a mark back that named another history of theirs. NULL: the contact never had an interaction, so
serving skips the history read (migration 0011 marked the contacts that had some before marks).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import sqlalchemy as sa

from recoms.store.bulk import as_sqlalchemy, one_of
from recoms.store.db import DriverConnections

CHUNK = 500  # SQLite's parameters per statement stay far below its limit

# The live contact (following a merge) and its mark: two primary-key lookups.
LIVE_MARK_SQL = (
    "SELECT id, history_mark FROM contacts WHERE id = "
    "(SELECT COALESCE(merged_into, id) FROM contacts WHERE account_id = ? AND id = ?)"
)
# PostgreSQL: the same for many (account, contact) pairs in one round trip, each row naming its pair's
# position; one statement text whatever their number (the driver prepares it once).
LIVE_MARKS_SQL = (
    "SELECT asked.n, live.id, live.history_mark "
    "FROM unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS asked(account_id, id, n) "
    "JOIN contacts c ON c.account_id = asked.account_id AND c.id = asked.id "
    "JOIN contacts live ON live.id = COALESCE(c.merged_into, c.id)"
)


def live_mark_columns(contact: str) -> str:
    """SQL for two columns of another statement (a token exchange's RETURNING): the live contact of the
    contact in column `contact`, and its mark, as `live_mark` reads them (NULLs for a contact that is gone)."""
    live = f"(SELECT COALESCE(merged_into, id) FROM contacts WHERE id = {contact})"
    return f"{live}, (SELECT history_mark FROM contacts WHERE id = {live})"


def new_mark() -> int:
    return secrets.randbits(62) + 1  # never 0 or NULL, within a signed 64-bit column


def changed(conn: sa.Connection, account_id: int, contact_ids: Iterable[int | None]) -> None:
    """These contacts' histories changed in the caller's transaction: each gets a new mark. On PostgreSQL
    the statement goes through the driver, so it can join a pipeline (store.bulk.insert_together)."""
    ids = sorted({c for c in contact_ids if c is not None})
    if not ids:
        return
    mark, raw = new_mark(), conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        among, params = one_of(conn, "id", ids)
        sql = f"UPDATE contacts SET history_mark = %s WHERE account_id = %s AND {among}"
        with as_sqlalchemy(sql, raw):
            raw.execute(sql, (mark, account_id, *params))
        return
    for start in range(0, len(ids), CHUNK):  # SQLite: the driver's own call (a group commit's every group)
        among, params = one_of(conn, "id", ids[start:start + CHUNK])
        sql = f"UPDATE contacts SET history_mark = ? WHERE account_id = ? AND {among}"
        with as_sqlalchemy(sql, raw):
            raw.execute(sql, (mark, account_id, *params))


def live_mark(connections: DriverConnections, account_id: int, contact_id: int) -> tuple[int, int | None] | None:
    """(the live contact's id, its mark), or None for a contact that is gone (erased)."""
    sql = LIVE_MARK_SQL if connections.mark == "?" else LIVE_MARK_SQL.replace("?", "%s")
    rows = connections.execute(sql, (account_id, contact_id))
    return (rows[0][0], rows[0][1]) if rows else None


def live_marks(connections: DriverConnections, asked: list[tuple[int, int]]) -> list[tuple[int, int | None] | None]:
    """`live_mark` of each (account, contact) pair, in order: on PostgreSQL one round trip for them all
    (requests waiting on a thread for their marks), on SQLite each in place (local and short)."""
    if connections.sqlite:
        return [live_mark(connections, account_id, contact_id) for account_id, contact_id in asked]
    found: list[tuple[int, int | None] | None] = [None] * len(asked)
    rows = connections.execute(LIVE_MARKS_SQL, ([a for a, _ in asked], [c for _, c in asked]))
    for n, live, mark in rows:
        found[n - 1] = (live, mark)
    return found
