"""Impressions and clicks of served recommendations, per data source (the `recom_events` table)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recoms.domain import variants
from recoms.store import datasources as store_datasources
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


def insert_known(conn: sa.Connection, account_id: int, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose data source may not be the account's (those are kept with no data source); a row
    that names no variant gets its contact's variant of the data source."""
    if not rows:
        return
    known = {}
    for ds_id in {row["datasource_id"] for row in rows if row["datasource_id"] is not None}:
        ds = store_datasources.get(conn, account_id, ds_id)
        if ds is not None:
            known[ds_id] = ds
    for row in rows:
        ds = known.get(row["datasource_id"])
        if ds is None:
            row["datasource_id"] = None
        elif row.get("variant_id") is None:
            row["variant_id"] = variants.choose(ds, row["contact_id"]).id
    insert(conn, rows)
