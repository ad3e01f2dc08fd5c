"""The contact lookup behind tracking, imports and the token endpoint hits the identifiers' key for every
identifier an event carries, whatever their number, on every backend (a scan made imports quadratic)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from recoms.store import merges
from recoms.store.contacts import HELD_CHUNK, held_query

IDS = {"external_id": "c-1", "email": "a@b.c", "phone": "380501234567", "cookie": "v1"}


@pytest.mark.parametrize("n", [len(IDS), HELD_CHUNK])
def test_each_identifier_is_a_point_lookup_on_the_key(platform, n):
    engine = platform.engine
    with engine.begin() as conn:  # enough rows that a scan would be worth it to no planner
        conn.execute(sa.text(
            "INSERT INTO contact_identifiers (account_id, kind, value, contact_id, created_at, verified) "
            "SELECT 999999, 'cookie', 'plan-' || n, n, 0, TRUE FROM (" + (
                "SELECT generate_series(1, 20000) AS n" if engine.dialect.name == "postgresql" else
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) SELECT n FROM s"
            ) + ") AS numbers WHERE TRUE ON CONFLICT DO NOTHING"))
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE contact_identifiers"))
    pairs = list(IDS.items()) + [("cookie", f"plan-{i}") for i in range(n - len(IDS))]  # a batch's worth
    sql, params = held_query(pairs, 999999, engine.dialect.paramstyle)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            on_identifiers = [p for p in plan if " ci " in f" {p} "]
            assert on_identifiers and all("(account_id=? AND kind=? AND value=?)" in p for p in on_identifiers), plan
        else:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, params))
            assert "Seq Scan on contact_identifiers" not in plan and "pk_contact_identifiers" in plan, plan


def test_a_merge_moves_a_contacts_identifiers_by_the_account_contact_index(platform):
    """PostgreSQL chose the identifiers' key by its account prefix (every identifier of the account, for
    each merge): imports with a merge per returning customer slowed as the contacts grew."""
    engine = platform.engine
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO contact_identifiers (account_id, kind, value, contact_id, created_at, verified) "
            "SELECT 999998, 'cookie', 'merge-' || n, n, 0, TRUE FROM (" + (
                "SELECT generate_series(1, 20000) AS n" if engine.dialect.name == "postgresql" else
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) SELECT n FROM s"
            ) + ") AS numbers WHERE TRUE ON CONFLICT DO NOTHING"))
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = merges.move_sql("contact_identifiers", mark, mark, mark)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (2, 1, 999998, 1)))
            assert "ix_contact_identifiers_account_contact (account_id=? AND contact_id=?)" in plan, plan
        else:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, (2, 1, 999998, 1)))
            assert "ix_contact_identifiers_account_contact" in plan and "pk_contact_identifiers" not in plan, plan
