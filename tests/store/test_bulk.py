"""Bulk inserts through the driver: the rows come back as they went in, on every backend."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from recoms.services.accounts import create_account
from recoms.store import activity, bulk
from tests.conftest import POSTGRES

TEXT = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))


@pytest.mark.skipif(not POSTGRES, reason="RECOMS_TEST_POSTGRES_URL not set")
@settings(max_examples=200, deadline=None)
@given(values=st.lists(TEXT, min_size=1, max_size=20))
def test_a_text_array_literal_is_read_back_as_the_values(values):
    import psycopg

    with psycopg.connect(POSTGRES) as conn:
        assert conn.execute("SELECT %s::text[]", [bulk.text_array(values)]).fetchone()[0] == values


@pytest.mark.parametrize("count", [1, 7, bulk.COPY_FROM + 3])  # one INSERT of arrays; COPY
def test_rows_are_stored_as_given(platform, count):
    account = 9_000_000 + count
    rows = [(account, None, 1, f"p\"{i}\\,{{}}", None if i % 2 else "Cat 'x'", 1_700_000_000_000 + i, 2.5 * i, 19.99,
             None, None) for i in range(count)]
    columns = ("account_id", "contact_id", "kind", "product_id", "category", "ts", "quantity", "price",
               "order_number", "origin_contact_id")
    with platform.engine.begin() as conn:
        bulk.insert_rows(conn, "interactions", columns, rows)
        stored = conn.exec_driver_sql(
            f"SELECT {', '.join(columns)} FROM interactions WHERE account_id = {account} ORDER BY ts").fetchall()
        conn.exec_driver_sql(f"DELETE FROM interactions WHERE account_id = {account}")
    assert [tuple(r) for r in stored] == rows


@pytest.mark.parametrize("count", [1, bulk.COPY_FROM + 3])
def test_a_refused_row_raises_sqlalchemys_error(platform, count):
    """What the ingestion's retry catches: an IntegrityError, whatever the driver."""
    rows = [(10**15, 1, "p", 1)] * count  # no such account
    with pytest.raises(sa.exc.IntegrityError), platform.engine.begin() as conn:
        bulk.insert_rows(conn, "interactions", ("account_id", "kind", "product_id", "ts"), rows)


def test_a_value_too_long_for_its_column_fails_as_an_insert_would(platform):
    """PostgreSQL holds a string column to its length (the arrays are text: the check must survive them)."""
    row = (9_100_000, 1, "x" * 300, 1, 1.0)
    columns = ("account_id", "kind", "product_id", "ts", "quantity")
    if platform.engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DataError, match="too long"), platform.engine.begin() as conn:
            bulk.insert_rows(conn, "interactions", columns, [row])
    else:  # SQLite keeps any length
        with platform.engine.begin() as conn:
            bulk.insert_rows(conn, "interactions", columns, [row])
            assert conn.exec_driver_sql("DELETE FROM interactions WHERE account_id = 9100000").rowcount == 1


@pytest.mark.parametrize("count", [2, bulk.COPY_FROM + 3])  # the parts in one statement; one part by COPY
def test_rows_for_several_tables_are_stored_together_as_given(platform, count):
    """A group commit's new visitor, identifiers, carts (one replaced) and interactions, as one write."""
    account = create_account(platform.engine, f"together-{uuid.uuid4().hex[:6]}")["account_id"]
    contact_id = 9_200_000_000 + count
    interactions = [(account, contact_id, 1, f"p'{i}\\", None, i, 1.0, None, None, None) for i in range(count)]
    with platform.engine.begin() as conn:
        bulk.insert_rows(conn, "carts", ("account_id", "contact_id", "lines", "updated_at"),
                         [(account, contact_id, '[{"product_id": "old"}]', 1)])
        bulk.insert_together(conn, [
            bulk.Rows("contacts", ("id", "account_id", "attributes", "created_at", "updated_at"),
                      [(contact_id, account, "{}", 5, 5)]),
            bulk.Rows("contact_identifiers", ("account_id", "kind", "value", "contact_id", "created_at", "verified"),
                      [(account, "cookie", 'c"1', contact_id, 5, True),
                       (account, "email", "é@x", contact_id, 5, False)]),
            bulk.Rows("carts", ("account_id", "contact_id", "lines", "updated_at"),
                      [(account, contact_id, '[{"product_id": "new"}]', 6), (account, contact_id + 1, "[]", 6)],
                      "ON CONFLICT (account_id, contact_id) DO UPDATE SET lines = excluded.lines"),
            bulk.Rows("orders", ("account_id", "order_number"), []),  # nothing to write: left out
            bulk.Rows("interactions", ("account_id", "contact_id", "kind", "product_id", "category", "ts", "quantity",
                                       "price", "order_number", "origin_contact_id"), interactions),
        ])
        q = conn.exec_driver_sql
        assert q(f"SELECT id FROM contacts WHERE account_id = {account}").scalars().all() == [contact_id]
        assert sorted(q(f"SELECT kind, value, verified FROM contact_identifiers WHERE account_id = {account}")
                      .all()) == [("cookie", 'c"1', True), ("email", "é@x", False)]
        assert {c: [line["product_id"] for line in lines]
                for c, lines in activity.carts_of(conn, account, [contact_id, contact_id + 1]).items()} == {
            contact_id: ["new"], contact_id + 1: []}
        stored = q(f"SELECT account_id, contact_id, kind, product_id, category, ts, quantity, price, order_number, "
                   f"origin_contact_id FROM interactions WHERE account_id = {account} ORDER BY ts").all()
        assert [tuple(r) for r in stored] == interactions
        for table in ("contacts", "contact_identifiers", "carts", "interactions"):
            q(f"DELETE FROM {table} WHERE account_id = {account}")


@pytest.mark.parametrize("limit", [999, 30])  # 30 parameters: three rows of ten a statement
def test_sqlite_rows_go_in_statements_of_several_rows_and_come_back_as_given(platform, monkeypatch, limit):
    """SQLite's inserts of many rows a statement: every count, in order, whatever the parameter limit; an
    upsert that meets its own key again within the rows keeps the last, as one insert a row would."""
    if platform.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's statements")
    monkeypatch.setattr(bulk, "_sqlite_variables", lambda raw: limit)
    columns = ("account_id", "contact_id", "kind", "product_id", "category", "ts", "quantity", "price",
               "order_number", "origin_contact_id")
    account = create_account(platform.engine, f"values-{uuid.uuid4().hex[:6]}")["account_id"]
    statements = []
    for count in (*range(0, 12), 99, 100, 257, 300):
        rows = [(account, None, 1, f"p{count}-{i}", None, count * 1000 + i, 1.0, 9.5, None, None)
                for i in range(count)]
        with platform.engine.begin() as conn:
            raw = conn.connection.driver_connection
            raw.set_trace_callback(statements.append)
            bulk.insert_rows(conn, "interactions", columns, rows)
            raw.set_trace_callback(None)
            stored = conn.exec_driver_sql(
                f"SELECT {', '.join(columns)} FROM interactions WHERE account_id = {account} "
                f"AND ts >= {count * 1000} AND ts < {count * 1000 + 1000} ORDER BY ts").fetchall()
        assert [tuple(r) for r in stored] == rows
    inserts = [s for s in statements if s.startswith("INSERT")]
    most = max(1, min(bulk.SQLITE_ROWS_A_STATEMENT, limit // len(columns)))
    assert max(s.count("(") - 1 for s in inserts) == most  # no statement above the limit, and some at it
    assert len(inserts) < sum((*range(0, 12), 99, 100, 257, 300)) / most + 12 * 8  # not one a row

    carts = [(account, 1, '["a"]', 1), (account, 2, '["b"]', 1), (account, 1, '["c"]', 2), (account, 1, '["d"]', 3)]
    with platform.engine.begin() as conn:
        bulk.insert_rows(conn, "carts", ("account_id", "contact_id", "lines", "updated_at"), carts,
                         activity.CART_REPLACE)
        assert conn.exec_driver_sql(f"SELECT contact_id, lines, updated_at FROM carts WHERE account_id = {account} "
                                    "ORDER BY contact_id").all() == [(1, '["d"]', 3), (2, '["b"]', 1)]
