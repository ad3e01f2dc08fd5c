"""Events, interactions, carts and orders in the SQL store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa

from recoms.recommenders.base import PURCHASE
from recoms.store import history_marks
from recoms.store.bulk import Rows, insert_together, json_text, one_of
from recoms.store.contacts import live_contact_sql
from recoms.store.db import DriverConnections, now_ms
from recoms.store.tables import carts, events, interactions, orders
from recoms.store.upsert import upsert


def insert_events(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(events.insert(), rows)


def insert_interactions(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(interactions.insert(), rows)
        for account_id in {row["account_id"] for row in rows}:
            history_marks.changed(conn, account_id, [row.get("contact_id") for row in rows
                                                     if row["account_id"] == account_id])


# The ingestion path's rows: sequences in these orders, JSON already text (store.bulk); the contact is
# second and the contact before a merge moved the row last (ingestion re-points rows it still holds).
EVENT_COLUMNS = ("account_id", "contact_id", "type", "source", "ts", "payload", "received_at", "event_key",
                 "origin_contact_id")
INTERACTION_COLUMNS = ("account_id", "contact_id", "kind", "product_id", "category", "ts", "quantity", "price",
                       "order_number", "origin_contact_id")


def carts_of(conn: sa.Connection, account_id: int, contact_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The carts of many contacts in one statement (contacts without a cart are left out)."""
    ids = sorted(set(contact_ids))
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 500):
        among, params = one_of(conn, "contact_id", ids[start:start + 500])
        rows = conn.exec_driver_sql(f"SELECT contact_id, lines FROM carts WHERE account_id = {mark} AND {among}",
                                    (account_id, *params))
        for contact_id, lines in rows:  # text from SQLite's driver, parsed by PostgreSQL's
            found[contact_id] = list(orjson.loads(lines) if isinstance(lines, (str, bytes)) else lines)
    return found


CART_COLUMNS = ("account_id", "contact_id", "lines", "updated_at")
CART_REPLACE = ("ON CONFLICT (account_id, contact_id) DO UPDATE SET lines = excluded.lines, "
                "updated_at = excluded.updated_at")


def cart_rows(account_id: int, lines_by_contact: dict[int, list[dict[str, Any]]]) -> Rows:
    """Many carts replaced at once (`insert_together`)."""
    now = now_ms()
    return Rows("carts", CART_COLUMNS, [(account_id, contact_id, json_text(items), now)
                                        for contact_id, items in lines_by_contact.items()], CART_REPLACE)


def set_carts(conn: sa.Connection, account_id: int, lines_by_contact: dict[int, list[dict[str, Any]]]) -> None:
    """Replace many carts at once: one statement (PostgreSQL: from text arrays; SQLite: one executemany)."""
    insert_together(conn, [cart_rows(account_id, lines_by_contact)])


def known_event_keys(conn: sa.Connection, account_id: int, keys: list[str]) -> set[str]:
    """Which of these client event ids are already stored (a retried batch)."""
    if not keys:
        return set()
    rows = conn.execute(sa.select(events.c.event_key).where(events.c.account_id == account_id,
                                                            events.c.event_key.in_(sorted(set(keys)))))
    return set(rows.scalars())


def get_cart(conn: sa.Connection, account_id: int, contact_id: int) -> list[dict[str, Any]]:
    row = conn.execute(
        sa.select(carts.c.lines).where(carts.c.account_id == account_id, carts.c.contact_id == contact_id)
    ).first()
    return list(row.lines) if row else []


def set_cart(conn: sa.Connection, account_id: int, contact_id: int, items: list[dict[str, Any]]) -> None:
    upsert(
        conn, carts, [{"account_id": account_id, "contact_id": contact_id, "lines": items, "updated_at": now_ms()}],
        ("account_id", "contact_id"), ("lines", "updated_at"),
    )


ORDER_COLUMNS = ("account_id", "contact_id", "order_number", "status", "total", "ts", "updated_at",
                 "origin_contact_id")  # contact second and origin last, as in events and interactions


def known_orders(conn: sa.Connection, account_id: int, numbers: Iterable[str]) -> set[str]:
    """Which of these order numbers are already recorded."""
    numbers = sorted(set(numbers))
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found: set[str] = set()
    for start in range(0, len(numbers), 500):
        among, params = one_of(conn, "order_number", numbers[start:start + 500], "text")
        found.update(conn.exec_driver_sql(f"SELECT order_number FROM orders WHERE account_id = {mark} AND {among}",
                                          (account_id, *params)).scalars())
    return found


def set_order_status(conn: sa.Connection, account_id: int, number: str, status: str) -> bool:
    result = conn.execute(
        orders.update()
        .where(orders.c.account_id == account_id, orders.c.order_number == number)
        .values(status=status, updated_at=now_ms())
    )
    if result.rowcount and status == "cancelled":
        # A cancelled order is no longer a purchase: recommenders must not learn from it.
        bought = (interactions.c.account_id == account_id, interactions.c.order_number == number,
                  interactions.c.kind == PURCHASE)
        history_marks.changed(conn, account_id, conn.execute(
            sa.select(interactions.c.contact_id).where(*bought).distinct()).scalars())
        conn.execute(interactions.delete().where(*bought))
    return result.rowcount > 0


# The hot-path read, one indexed query: a live contact's newest product interactions (callers follow a
# merge first: store.history_marks.live_mark). It runs on the driver's connections in autocommit
# (store.db.DriverConnections): SQLAlchemy's row processing cost 3x the query itself, and its pool's
# checkout, pre-ping and reset are round trips.
HISTORY_SQL = (
    "SELECT product_id, kind, ts FROM interactions WHERE account_id = ? AND contact_id = ? "
    "AND product_id IS NOT NULL ORDER BY ts DESC LIMIT ?"
)


_NO_KINDS, _NO_TIMES = np.empty(0, np.int8), np.empty(0, np.int64)
_NO_KINDS.flags.writeable = _NO_TIMES.flags.writeable = False  # shared by every empty history
NO_HISTORY: tuple[list[str], np.ndarray, np.ndarray] = ([], _NO_KINDS, _NO_TIMES)


# SQLite: the same rows as three JSON arrays in one row. sqlite3 lets go of the GIL at every row it steps
# to, and in a busy server each of those is a hand-off to granian's thread and back.
HISTORY_SQL_SQLITE = (
    "SELECT json_group_array(product_id), json_group_array(kind), json_group_array(ts) FROM ("
    + HISTORY_SQL + ")"
)


def contact_history(
    connections: DriverConnections, account_id: int, live_contact_id: int, limit: int = 200
) -> tuple[list[str], np.ndarray, np.ndarray]:
    if connections.sqlite:
        found = _history_as_arrays(connections, account_id, live_contact_id, limit)
        if found is not None:
            return found
    sql = HISTORY_SQL if connections.mark == "?" else HISTORY_SQL.replace("?", "%s")
    rows = connections.execute(sql, (account_id, live_contact_id, limit))
    if not rows:  # a new visitor: much of a shop's traffic
        return NO_HISTORY
    ids, kinds, times = zip(*rows, strict=True)  # columns in C: a third of generators' cost per row
    return list(ids), np.array(kinds, np.int8), np.array(times, np.int64)


def _history_as_arrays(connections: DriverConnections, account_id: int, live_contact_id: int, limit: int
                       ) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """`contact_history` from HISTORY_SQL_SQLITE; None when SQLite did not keep the rows' order (it does
    not promise to: the caller then reads them one by one)."""
    ids, kinds, times = connections.execute(HISTORY_SQL_SQLITE, (account_id, live_contact_id, limit))[0]
    ts = np.array(orjson.loads(times), np.int64)
    if len(ts) == 0:
        return NO_HISTORY
    if len(ts) > 1 and not bool(np.all(ts[:-1] >= ts[1:])):
        return None
    return orjson.loads(ids), np.array(orjson.loads(kinds), np.int8), ts


def list_events(conn: sa.Connection, account_id: int, contact_id: int, limit: int = 100) -> list[dict[str, Any]]:
    e = events.c
    rows = conn.execute(
        sa.select(e.id, e.type, e.ts, e.source, e.payload)
        .where(e.account_id == account_id, e.contact_id == live_contact_sql(account_id, contact_id))
        .order_by(e.ts.desc(), e.id.desc())
        .limit(limit)
    )
    return [{"id": r.id, "type": r.type, "ts": r.ts, "source": r.source, "payload": r.payload} for r in rows]


def iter_interactions(conn: sa.Connection, account_id: int, since_ms: int) -> Any:
    """Every product interaction of an account since a time (for training), oldest first."""
    i = interactions.c
    query = (
        sa.select(i.contact_id, i.product_id, i.kind, i.ts, i.quantity, i.order_number)
        .where(i.account_id == account_id, i.ts >= since_ms, i.product_id.is_not(None))
        .order_by(i.ts, i.id)
    )
    return conn.execution_options(yield_per=20000).execute(query)
