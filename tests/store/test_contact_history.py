"""A contact's history as the hot path reads it (store.activity.contact_history): the newest product
interactions first, their ids exactly as stored, on every backend; on SQLite as one row of arrays."""

from __future__ import annotations

import uuid

import numpy as np

from recoms.services.accounts import create_account
from recoms.store import activity, contacts
from recoms.store.db import DriverConnections

ODD_IDS = ['plain', 'with "quotes"', "back\\slash", "uni-ć-🛒", "unit\x1fseparator", "comma,and;semi", "  spaced "]


def _shop(platform) -> tuple[int, int, int]:
    account = create_account(platform.engine, f"history-{uuid.uuid4().hex[:8]}", "extra")["account_id"]
    with platform.engine.begin() as conn:
        buyer, newcomer = contacts.create_contact(conn, account), contacts.create_contact(conn, account)
        rows = [{"account_id": account, "contact_id": buyer, "kind": 1 + i % 3, "product_id": pid,
                 "ts": 1_700_000_000_000 + (i // 2) * 1000, "quantity": 1.0}  # equal times in pairs
                for i, pid in enumerate(ODD_IDS * 3)]
        rows.append({"account_id": account, "contact_id": buyer, "kind": 1, "product_id": None,
                     "category": "Shoes", "ts": 1_800_000_000_000, "quantity": 1.0})  # no product: not history
        activity.insert_interactions(conn, rows)
    return account, buyer, newcomer


def _one_by_one(connections: DriverConnections, account: int, contact: int, limit: int):
    sql = activity.HISTORY_SQL if connections.mark == "?" else activity.HISTORY_SQL.replace("?", "%s")
    return connections.execute(sql, (account, contact, limit))


def test_the_history_is_the_newest_rows_as_stored(platform):
    account, buyer, newcomer = _shop(platform)
    connections = DriverConnections(platform.engine)
    try:
        for limit in (200, 5, 1):
            ids, kinds, times = activity.contact_history(connections, account, buyer, limit)
            rows = _one_by_one(connections, account, buyer, limit)
            assert list(zip(ids, kinds.tolist(), times.tolist(), strict=True)) == [tuple(r) for r in rows]
            assert len(ids) == min(limit, len(ODD_IDS) * 3)
            assert kinds.dtype == np.int8 and times.dtype == np.int64 and all(isinstance(i, str) for i in ids)
            assert list(times) == sorted(times, reverse=True)
        assert set(activity.contact_history(connections, account, buyer, 200)[0]) == set(ODD_IDS)
        ids, kinds, times = activity.contact_history(connections, account, newcomer, 200)
        assert ids == [] and len(kinds) == len(times) == 0
    finally:
        connections.close()


def test_rows_sqlite_did_not_keep_in_order_are_read_one_by_one(platform, monkeypatch):
    account, buyer, _ = _shop(platform)
    connections = DriverConnections(platform.engine)
    try:
        want = activity.contact_history(connections, account, buyer, 200)
        # Arrays whose order is not the newest first: the read does not trust them.
        monkeypatch.setattr(activity, "HISTORY_SQL_SQLITE", activity.HISTORY_SQL_SQLITE.replace(
            "ORDER BY ts DESC", "ORDER BY ts ASC"))
        got = activity.contact_history(connections, account, buyer, 200)
        assert got[0] == want[0] and got[1].tolist() == want[1].tolist() and got[2].tolist() == want[2].tolist()
    finally:
        connections.close()
