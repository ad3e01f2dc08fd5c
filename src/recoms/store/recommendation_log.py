"""Served recommendation lists (the `recommendation_log` table), written in batches by the log's flusher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa

from recoms.store import bulk
from recoms.store.db import Statements
from recoms.store.tables import recommendation_log
from recoms.store.upsert import upsert

c = recommendation_log.c


COLUMNS = ("id", "account_id", "datasource_id", "variant_id", "contact_id", "items", "ts")


def insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Rows keyed by their id; one already stored (a batch written twice after a failed commit) is skipped."""
    upsert(conn, recommendation_log, rows, ["id"], [])


def insert_many(conn: sa.Connection, rows: list[tuple]) -> None:
    """The writer's batches: tuples in COLUMNS order with `items` already JSON text, through the driver
    (SQLAlchemy's per-row processing costs more than the insert; it runs beside requests).

    One statement for the batch: the rows as one JSON parameter on SQLite, as one text array per column
    on PostgreSQL. executemany takes the GIL back for each row (SQLite) or builds each row's messages in
    Python (psycopg's pipeline: ~15 µs of the GIL a row, taken from the event loop); on SQLite the writer
    holds the write lock meanwhile: against a busy event loop a batch of 2,000 held it for 8 ms typically
    and 45 ms at worst, each token exchange behind it waiting."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        return insert_many_sqlite(conn.exec_driver_sql, rows)
    conn.exec_driver_sql(bulk.unnest_insert("recommendation_log", COLUMNS) + " ON CONFLICT (id) DO NOTHING",
                         tuple(bulk.text_array(column) for column in zip(*rows, strict=True)))


SQLITE_INSERT = (
    f"INSERT INTO recommendation_log ({', '.join(COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(COLUMNS)))
    + " FROM json_each(?) WHERE true ON CONFLICT (id) DO NOTHING"  # WHERE: SQLite's upsert-after-SELECT rule
)


def insert_many_sqlite(execute: Callable[[str, tuple], Any], rows: list[tuple]) -> None:
    """`insert_many` on SQLite, through any `execute(sql, params)` (a connection's, or a transaction's)."""
    execute(SQLITE_INSERT, (orjson.dumps(rows).decode(),))


SQLITE_INSERT_ROW = (f"INSERT INTO recommendation_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                     "ON CONFLICT (id) DO NOTHING")


def insert_rows_sqlite(statements: Statements, rows: list[tuple]) -> None:
    """`insert_many` on SQLite by a thread that holds the GIL anyway (the event loop's writes): a statement
    per row, bound in C, costs a third less than unpacking the batch from JSON (measured: 4.9 against 6.9
    µs a row). A thread beside the loop uses `insert_many_sqlite`: one call, the GIL released throughout."""
    statements.many(SQLITE_INSERT_ROW, rows)


def get(conn: sa.Connection, account_id: int, number: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(recommendation_log).where(c.id == number, c.account_id == account_id)).first()
    return dict(row._mapping) if row else None


def served_by_day(conn: sa.Connection, account_id: int, ds_id: int, start: int, end: int) -> list[tuple[int, int, int]]:
    """(day, variant, lists served) of one data source in [start, end) ms; days count from the epoch (UTC)."""
    day = c.ts // 86_400_000
    rows = conn.execute(
        sa.select(day, c.variant_id, sa.func.count())
        .where(c.account_id == account_id, c.datasource_id == ds_id, c.ts >= start, c.ts < end)
        .group_by(day, c.variant_id)
    )
    return [(int(d), int(v), int(n)) for d, v, n in rows]
