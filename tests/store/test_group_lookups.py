"""A group's lookups (one pipeline on PostgreSQL, one statement after another on SQLite) give the same
answers: who holds each identifier, the stored event ids and order numbers, the carts of the contacts
holding cart identifiers ([] for none), and which contacts holding customer identifiers have a customer id."""

from __future__ import annotations

import uuid

from recoms.services.accounts import create_account
from recoms.store import activity, contacts
from recoms.store.bulk import Rows, insert_together
from recoms.store.group_lookups import look_up
from recoms.store.tables import events, orders


def test_the_five_lookups_answer_together(platform):
    engine = platform.engine
    account = create_account(engine, f"lookups-{uuid.uuid4().hex[:8]}", "extra")["account_id"]
    with engine.begin() as conn:
        shopper = contacts.attach_new(conn, account, {"cookie": "c-shopper", "external_id": "cust-1"}, True)
        browser = contacts.attach_new(conn, account, {"cookie": "c-browser"}, True)
        claimed = contacts.attach_new(conn, account, {"email": "a@b.c"}, False)
        activity.set_carts(conn, account, {shopper: [{"product_id": "P1", "quantity": 2}]})
        conn.execute(events.insert().values(account_id=account, contact_id=shopper, type="MainPage", source="web",
                                            ts=1, payload={}, received_at=1, event_key="k-stored"))
        insert_together(conn, [Rows("orders", activity.ORDER_COLUMNS,
                                    [(account, shopper, "o-1", "created", 5.0, 1, 1, None)])])
    with engine.begin() as conn:
        found = look_up(conn, account,
                        pairs=[("cookie", "c-shopper"), ("cookie", "c-browser"), ("email", "a@b.c"),
                               ("cookie", "c-nobody")],
                        keys=["k-stored", "k-new"], orders=["o-1", "o-2"],
                        cart_pairs=[("cookie", "c-shopper"), ("cookie", "c-browser"), ("cookie", "c-nobody")],
                        customer_pairs=[("cookie", "c-shopper"), ("email", "a@b.c")])
    assert found.held == {("cookie", "c-shopper"): contacts.Held(shopper, True),
                          ("cookie", "c-browser"): contacts.Held(browser, True),
                          ("email", "a@b.c"): contacts.Held(claimed, False)}
    assert found.keys == {"k-stored"}
    assert found.orders == {"o-1"}
    assert found.carts == {shopper: [{"product_id": "P1", "quantity": 2}], browser: []}
    assert found.customers == {shopper: True, claimed: False}


def test_nothing_to_look_up_answers_empty(platform):
    with platform.engine.begin() as conn:
        assert look_up(conn, 1, [], [], [], [], []) == ({}, set(), set(), {}, {})
        assert conn.execute(orders.select().limit(0)).all() == []  # the transaction is usable afterwards
