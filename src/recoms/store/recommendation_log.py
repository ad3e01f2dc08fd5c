"""Served recommendation lists (the `recommendation_log` table), written in batches by the log's flusher."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recoms.store.tables import recommendation_log
from recoms.store.upsert import upsert

c = recommendation_log.c


COLUMNS = ("id", "account_id", "datasource_id", "variant_id", "contact_id", "items", "ts")


def insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Rows keyed by their id; one already stored (a batch written twice after a failed commit) is skipped."""
    upsert(conn, recommendation_log, rows, ["id"], [])


def insert_many(conn: sa.Connection, rows: list[tuple]) -> None:
    """The writer's batches: tuples in COLUMNS order with `items` already JSON text, through the driver's
    executemany (SQLAlchemy's per-row processing costs more than the insert; it runs beside requests)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    items = mark if conn.dialect.name == "sqlite" else f"CAST({mark} AS JSON)"
    values = ", ".join([mark] * 5 + [items, mark])
    conn.exec_driver_sql(f"INSERT INTO recommendation_log ({', '.join(COLUMNS)}) VALUES ({values}) "
                         "ON CONFLICT (id) DO NOTHING", rows)


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
