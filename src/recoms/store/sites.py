"""Shop domains registered for web tracking: each domain belongs to one account."""

from __future__ import annotations

import sqlalchemy as sa

from recoms.store.db import now_ms
from recoms.store.tables import site_domains


def owner(conn: sa.Connection, domain: str) -> int | None:
    return conn.execute(sa.select(site_domains.c.account_id).where(site_domains.c.domain == domain)).scalar()


def register(conn: sa.Connection, account_id: int, domain: str) -> int:
    """The account the domain belongs to: `account_id` if it was free (it is now), else its owner."""
    found = owner(conn, domain)
    if found is None:
        conn.execute(site_domains.insert().values(domain=domain, account_id=account_id, created_at=now_ms()))
        return account_id
    return found


def domains_of(conn: sa.Connection, account_id: int) -> list[str]:
    rows = conn.execute(
        sa.select(site_domains.c.domain).where(site_domains.c.account_id == account_id).order_by(site_domains.c.domain)
    )
    return list(rows.scalars())
