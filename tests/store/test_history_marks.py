"""History marks read for many requests at once (store.history_marks.live_marks): each (account, contact)
pair gets what reading it alone gives, in the order asked, whatever the accounts, merges and gaps."""

from __future__ import annotations

import uuid

from recoms.services.accounts import create_account
from recoms.store import activity, contacts, history_marks
from recoms.store.db import DriverConnections


def _account(platform) -> int:
    return create_account(platform.engine, f"marks-{uuid.uuid4().hex[:8]}", "extra")["account_id"]


def _viewed(conn, account: int, contact: int, product: str) -> None:
    activity.insert_interactions(conn, [{"account_id": account, "contact_id": contact, "kind": 1,
                                         "product_id": product, "ts": 1, "quantity": 1.0}])


def test_many_pairs_read_at_once_answer_as_each_read_alone(platform):
    shop, other = _account(platform), _account(platform)
    with platform.engine.begin() as conn:
        fresh = contacts.create_contact(conn, shop)  # never an interaction: no mark
        viewer = contacts.create_contact(conn, shop)
        _viewed(conn, shop, viewer, "p1")
        loser, winner = contacts.create_contact(conn, shop), contacts.create_contact(conn, shop)
        _viewed(conn, shop, loser, "p2")
        contacts.merge(conn, shop, loser, winner)
        elsewhere = contacts.create_contact(conn, other)
        _viewed(conn, other, elsewhere, "p3")
    connections = DriverConnections(platform.engine)
    try:
        asked = [(shop, viewer), (shop, fresh), (shop, loser), (other, viewer), (other, elsewhere),
                 (shop, 10**12), (shop, viewer), (shop, winner)]
        found = history_marks.live_marks(connections, asked)
        alone = [history_marks.live_mark(connections, a, c) for a, c in asked]
        assert found == alone
        viewer_mark = found[0][1]
        assert found[0] == (viewer, viewer_mark) and viewer_mark is not None
        assert found[1] == (fresh, None)  # a contact with no interactions has no mark
        assert found[2][0] == winner and found[2] == found[7]  # a merged contact reads its winner's
        assert found[2][1] is not None
        assert found[3] is None  # another account's contact is not this account's
        assert found[4][0] == elsewhere and found[4][1] is not None
        assert found[5] is None  # unknown
        assert found[6] == found[0]
        assert history_marks.live_marks(connections, []) == []
    finally:
        connections.close()
