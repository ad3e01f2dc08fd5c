"""Many carts replaced at once come back as they were written, on every backend."""

from __future__ import annotations

import uuid

from recoms.services.accounts import create_account
from recoms.store import activity


def test_set_carts_stores_new_carts_and_replaces_old_ones(platform):
    account_id = create_account(platform.engine, f"carts-{uuid.uuid4().hex[:6]}")["account_id"]
    odd = [{"productKey": 'P"1\\', "name": "Café, {x}", "price": 9.5, "quantity": 2}]
    with platform.engine.begin() as conn:
        activity.set_carts(conn, account_id, {1: [{"productKey": "A", "quantity": 1}], 2: []})
        activity.set_carts(conn, account_id, {1: odd, 3: [{"productKey": "C", "quantity": 3}]})
        carts = activity.carts_of(conn, account_id, [1, 2, 3, 4])
    assert carts == {1: odd, 2: [], 3: [{"productKey": "C", "quantity": 3}]}
