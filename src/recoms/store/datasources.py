"""Data sources in the SQL store (always scoped to their account)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recoms.domain.datasource import DataSource, build
from recoms.store.db import now_ms
from recoms.store.tables import datasources

c = datasources.c


def _to_domain(row: Any) -> DataSource:
    body = {"name": row.name, "algorithm": row.algorithm, "size": row.size, "params": row.params,
            "rules": row.rules, "fallback": row.fallback, "variants": row.variants}
    return build(row.id, row.account_id, body, row.updated_at, stored=True,
                 experiment_started_at=row.experiment_started_at, variant_seq=row.variant_seq)


def _values(ds: DataSource) -> dict[str, Any]:
    return {"name": ds.name, "algorithm": ds.algorithm, "size": ds.size, "params": ds.params,
            "rules": ds.raw_rules, "fallback": ds.raw_fallback, "variants": ds.raw_variants or None,
            "experiment_started_at": ds.experiment_started_at, "variant_seq": ds.variant_seq}


def insert(conn: sa.Connection, ds: DataSource) -> int:
    now = now_ms()
    return conn.execute(
        datasources.insert().values(account_id=ds.account_id, created_at=now, updated_at=now, **_values(ds))
    ).inserted_primary_key[0]


def update(conn: sa.Connection, ds: DataSource) -> bool:
    # Every edit gets a version of its own, two edits in one millisecond included: serving keys what it
    # resolves and the answers it reuses by (id, updated_at).
    now = now_ms()
    result = conn.execute(
        datasources.update()
        .where(c.id == ds.id, c.account_id == ds.account_id)
        .values(updated_at=sa.case((c.updated_at >= now, c.updated_at + 1), else_=now), **_values(ds))
    )
    return result.rowcount > 0


def delete(conn: sa.Connection, account_id: int, ds_id: int) -> bool:
    return conn.execute(datasources.delete().where(c.id == ds_id, c.account_id == account_id)).rowcount > 0


def get(conn: sa.Connection, account_id: int, ds_id: int) -> DataSource | None:
    row = conn.execute(sa.select(datasources).where(c.id == ds_id, c.account_id == account_id)).first()
    return _to_domain(row) if row else None


def list_for(conn: sa.Connection, account_id: int) -> list[DataSource]:
    rows = conn.execute(sa.select(datasources).where(c.account_id == account_id).order_by(c.id))
    return [_to_domain(r) for r in rows]


def variant_seq(conn: sa.Connection, account_id: int, ds_id: int) -> tuple[int, int | None] | None:
    """The last variant id handed out and the running experiment's start (None: no such data source)."""
    row = conn.execute(sa.select(c.variant_seq, c.experiment_started_at)
                       .where(c.id == ds_id, c.account_id == account_id)).first()
    return (row.variant_seq, row.experiment_started_at) if row else None
