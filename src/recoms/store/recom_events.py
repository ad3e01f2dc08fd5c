"""Impressions and clicks of served recommendations, per data source (the `recom_events` table)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recoms.store.tables import recom_events


def insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(recom_events.insert(), rows)


def counts(conn: sa.Connection, account_id: int, datasource_id: int, since_ms: int = 0) -> dict[str, int]:
    """Impressions and clicks of one data source since a time: what a click-through rate is made of."""
    r = recom_events.c
    rows = conn.execute(
        sa.select(r.kind, sa.func.count())
        .where(r.account_id == account_id, r.datasource_id == datasource_id, r.ts >= since_ms)
        .group_by(r.kind)
    )
    return {kind: n for kind, n in rows}
