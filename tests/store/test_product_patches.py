"""The tracker's price and stock patches: only the fields given, only where they differ, on every backend."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from recoms.domain.product import Product
from recoms.services.accounts import create_account
from recoms.store import products


def stored(conn: sa.Connection, account_id: int) -> dict[str, tuple]:
    rows = conn.exec_driver_sql(
        f"SELECT id, price, in_stock, updated_at FROM products WHERE account_id = {account_id}").fetchall()
    return {r[0]: (r[1], bool(r[2]), r[3]) for r in rows}


def test_patches_change_what_they_name_and_leave_the_rest(platform):
    account_id = create_account(platform.engine, f"patches-{uuid.uuid4().hex[:6]}")["account_id"]
    items = [Product(id=f"P{i}", name=f"Item {i}", price=10.0 + i, in_stock=True) for i in range(1, 6)]
    with platform.engine.begin() as conn:
        products.upsert_products(conn, account_id, items, None)
        conn.exec_driver_sql(f"UPDATE products SET updated_at = 1 WHERE account_id = {account_id}")
        products.patch_many(conn, account_id, {
            "P1": {"price": 99.5},  # price only: stock kept
            "P2": {"in_stock": False},  # stock only: price kept
            "P3": {"price": 13.0, "in_stock": True},  # as stored: untouched, updated_at kept
            "P4": {"price": 14.0, "in_stock": False},  # price as stored, stock changed
            "P5": {"name": "ignored"},  # nothing the tracker patches
            "P-unknown": {"price": 1.0},  # not in the catalog: nothing happens
        })
        after = stored(conn, account_id)
    assert after["P1"][:2] == (99.5, True) and after["P1"][2] > 1
    assert after["P2"][:2] == (12.0, False) and after["P2"][2] > 1
    assert after["P3"] == (13.0, True, 1)
    assert after["P4"][:2] == (14.0, False) and after["P4"][2] > 1
    assert after["P5"] == (15.0, True, 1)
    assert set(after) == {f"P{i}" for i in range(1, 6)}
