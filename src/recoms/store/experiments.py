"""Ended A/B experiments of data sources (the `experiments` table)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recoms.store.db import now_ms
from recoms.store.tables import experiments

c = experiments.c


def insert(conn: sa.Connection, account_id: int, ds_id: int, started_at: int, winner: int,
           arms: list[dict[str, Any]]) -> int:
    return conn.execute(experiments.insert().values(
        account_id=account_id, datasource_id=ds_id, started_at=started_at, ended_at=now_ms(), winner=winner,
        variants=arms,
    )).inserted_primary_key[0]


def list_for(conn: sa.Connection, account_id: int, ds_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(experiments).where(c.account_id == account_id, c.datasource_id == ds_id)
                        .order_by(c.ended_at.desc(), c.id.desc()))
    return [{"id": r.id, "startedAt": r.started_at, "endedAt": r.ended_at, "winner": r.winner,
             "variants": r.variants} for r in rows]
