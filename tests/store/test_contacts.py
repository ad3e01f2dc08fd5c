"""Contacts in the store: verified and claimed identifiers, recorded merges and their undoing, erasure."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from recoms.services.accounts import create_account
from recoms.store import activity, claims, contacts, merges
from recoms.store.bulk import insert_rows
from recoms.store.tables import carts, contact_identifiers, contact_merges, events, interactions, orders

ci = contact_identifiers


@pytest.fixture
def account(platform) -> int:
    return create_account(platform.engine, f"store-{uuid.uuid4().hex[:8]}", "extra")["account_id"]


@pytest.fixture
def conn(platform, account):  # after the account: SQLite has one writer
    with platform.engine.begin() as connection:
        yield connection


def identifiers(conn, account: int, contact: int) -> set[tuple[str, str, bool]]:
    found = conn.execute(sa.select(ci.c.kind, ci.c.value, ci.c.verified).where(
        ci.c.account_id == account, ci.c.contact_id == contact))
    return {(r.kind, r.value, bool(r.verified)) for r in found}


def owned(conn, account: int, contact: int) -> dict:
    """Every row a contact owns, and its attributes, cart and merge pointer."""
    def ids(table, key="id"):
        return sorted(conn.execute(sa.select(table.c[key]).where(table.c.account_id == account,
                                                                 table.c.contact_id == contact)).scalars())
    found = contacts.get_contact(conn, account, contact)
    pointer = conn.execute(sa.text("SELECT merged_into FROM contacts WHERE id = :i"), {"i": contact}).scalar()
    return {"identifiers": identifiers(conn, account, contact), "interactions": ids(interactions),
            "events": ids(events), "orders": ids(orders, "order_number"),
            "cart": activity.get_cart(conn, account, contact),
            "attributes": found["attributes"] if found and pointer is None else None, "merged_into": pointer}


def history(conn, account: int, contact: int, product: str, order: str | None = None) -> None:
    """One view, one event, optionally an order of a contact."""
    activity.insert_interactions(conn, [{"account_id": account, "contact_id": contact, "kind": 1,
                                         "product_id": product, "ts": 1, "quantity": 1.0}])
    activity.insert_events(conn, [{"account_id": account, "contact_id": contact, "type": "ProductPage",
                                   "source": "api", "ts": 1, "payload": {"p": product}, "received_at": 1}])
    if order:
        insert_rows(conn, "orders", activity.ORDER_COLUMNS, [[account, contact, order, "created", 10.0, 1, 1, None]])


def test_a_claim_attaches_device_ids_verified_and_customer_ids_unverified(conn, account):
    visitor = contacts.resolve_claimed(conn, account, {"cookie": "c1", "email": "free@x.test"})
    assert identifiers(conn, account, visitor) == {("cookie", "c1", True), ("email", "free@x.test", False)}
    assert contacts.lookup(conn, account, {"email": "free@x.test"}) is None
    assert contacts.lookup(conn, account, {"cookie": "c1"}) == visitor
    # The same browser again, and a request of the same visitor without its cookie: the same contact.
    assert contacts.resolve_claimed(conn, account, {"cookie": "c1", "email": "free@x.test"}) == visitor
    assert contacts.resolve_claimed(conn, account, {"email": "free@x.test"}) == visitor
    # Another browser claiming the same email does not become that visitor.
    other = contacts.resolve_claimed(conn, account, {"cookie": "c2", "email": "free@x.test"})
    assert other != visitor and identifiers(conn, account, other) == {("cookie", "c2", True)}


def test_a_claim_of_a_customers_identifier_is_recorded_not_merged(conn, account):
    customer = contacts.resolve(conn, account, {"external_id": "K", "email": "k@x.test"})
    visitor = contacts.resolve_claimed(conn, account, {"cookie": "c", "email": "k@x.test", "external_id": "K"})
    assert visitor != customer
    assert identifiers(conn, account, visitor) == {("cookie", "c", True)}
    assert identifiers(conn, account, customer) == {("external_id", "K", True), ("email", "k@x.test", True)}
    assert claims.of(conn, account, [visitor])["made"][0]["claimedId"] == customer
    assert conn.execute(sa.select(contact_merges).where(contact_merges.c.account_id == account)).all() == []
    # A claim without any device identifier still never lands on the customer.
    stranger = contacts.resolve_claimed(conn, account, {"email": "k@x.test"})
    assert stranger not in (customer, visitor)


def test_a_verified_call_adopts_a_claimed_identifier(conn, account):
    visitor = contacts.resolve_claimed(conn, account, {"cookie": "c", "phone": "380500000001"})
    customer = contacts.resolve(conn, account, {"phone": "380500000001"})
    assert customer != visitor
    assert identifiers(conn, account, customer) == {("phone", "380500000001", True)}
    assert claims.training_map(conn, account) == {visitor: customer}
    # The visitor's own claim confirmed together with its cookie: the same contact, now verified.
    own = contacts.resolve_claimed(conn, account, {"cookie": "d", "email": "d@x.test"})
    assert contacts.resolve(conn, account, {"cookie": "d", "email": "d@x.test"}) == own
    assert identifiers(conn, account, own) == {("cookie", "d", True), ("email", "d@x.test", True)}


def test_a_contact_named_by_two_of_the_identifiers_is_merged_once(conn, account):
    customer = contacts.resolve(conn, account, {"external_id": "c-1"})
    device = contacts.resolve(conn, account, {"email": "two@shop.test", "phone": "380501112233"})
    seen: list[tuple[int, int]] = []
    found = contacts.resolve(conn, account, {"external_id": "c-1", "email": "two@shop.test", "phone": "380501112233",
                                             "cookie": "new"}, on_merge=lambda *pair: seen.append(pair))
    assert found == customer and seen == [(device, customer)]
    assert [m["loserId"] for m in merges.of(conn, account, [customer])] == [device]
    assert identifiers(conn, account, customer) == {
        ("external_id", "c-1", True), ("email", "two@shop.test", True), ("phone", "380501112233", True),
        ("cookie", "new", True)}


def test_the_holders_a_caller_passes_are_the_holders_afterwards(conn, account):
    customer = contacts.resolve(conn, account, {"external_id": "c-1", "email": "one@shop.test"})
    passed = {"external_id": contacts.Held(customer, True), "email": contacts.Held(customer, True)}
    contacts.resolve(conn, account, {"external_id": "c-1", "email": "one@shop.test", "pseudo_id": "app"}, held=passed)
    assert passed == {kind: contacts.Held(customer, True) for kind in ("external_id", "email", "pseudo_id")}
    assert identifiers(conn, account, customer) == {
        ("external_id", "c-1", True), ("email", "one@shop.test", True), ("pseudo_id", "app", True)}


def test_claims_for_training_follow_merges_and_the_newest_claim(conn, account):
    a = contacts.resolve(conn, account, {"email": "a@x.test"})
    b = contacts.resolve(conn, account, {"email": "b@x.test"})
    visitor = contacts.resolve_claimed(conn, account, {"cookie": "v", "email": "a@x.test"})
    assert claims.training_map(conn, account) == {visitor: a}
    conn.execute(sa.text("UPDATE contact_claims SET created_at = 0 WHERE claimed_id = :a"), {"a": a})
    contacts.resolve_claimed(conn, account, {"cookie": "v", "email": "b@x.test"})
    assert claims.training_map(conn, account) == {visitor: b}
    merges.merge(conn, account, loser=b, winner=a, reason="test")
    assert claims.training_map(conn, account) == {visitor: a}


def test_unmerge_undoes_a_chain_in_any_order(conn, account):
    x, y, z = (contacts.resolve(conn, account, {"email": f"{n}@x.test", "cookie": f"c-{n}"}) for n in "xyz")
    for contact, product in ((x, "PX"), (y, "PY"), (z, "PZ")):
        history(conn, account, contact, product, order=f"O-{product}")
        contacts.set_attributes(conn, account, contact, {"name": product, product: 1})
    activity.set_cart(conn, account, x, [{"product_id": "PX"}])
    before = {c: owned(conn, account, c) for c in (x, y, z)}
    xy = merges.merge(conn, account, loser=x, winner=y, reason="test")
    yz = merges.merge(conn, account, loser=y, winner=z, reason="test")
    assert owned(conn, account, x)["merged_into"] == owned(conn, account, y)["merged_into"] == z
    assert sorted(p for p, in conn.execute(sa.select(interactions.c.product_id).where(
        interactions.c.contact_id == z))) == ["PX", "PY", "PZ"]
    assert activity.get_cart(conn, account, z) == [{"product_id": "PX"}]  # z had none: x's moved
    merges.unmerge(conn, account, merges.get(conn, account, yz))
    # y comes back with x, which is still merged into it.
    assert owned(conn, account, z) == before[z]
    assert owned(conn, account, x)["merged_into"] == y
    assert sorted(p for p, in conn.execute(sa.select(interactions.c.product_id).where(
        interactions.c.contact_id == y))) == ["PX", "PY"]
    merges.unmerge(conn, account, merges.get(conn, account, xy))
    assert {c: owned(conn, account, c) for c in (x, y, z)} == before
    undone = conn.execute(sa.select(contact_merges.c.undone_at).where(contact_merges.c.account_id == account))
    assert all(u is not None for u, in undone)


def test_unmerge_keeps_what_came_after_the_merge_with_the_winner(conn, account):
    loser = contacts.resolve(conn, account, {"cookie": "l"})
    winner = contacts.resolve(conn, account, {"email": "w@x.test"})
    contacts.set_attributes(conn, account, loser, {"size": "M", "city": "Kyiv"})
    contacts.set_attributes(conn, account, winner, {"name": "W"})
    activity.set_cart(conn, account, loser, [{"product_id": "L"}])
    activity.set_cart(conn, account, winner, [{"product_id": "W"}])
    merge_id = contacts.merge(conn, account, loser=loser, winner=winner, reason="test")
    assert activity.get_cart(conn, account, loser) == []  # the winner's cart won
    contacts.set_attributes(conn, account, winner, {"city": "Lviv"})  # changed after the merge
    history(conn, account, winner, "LATER")
    merges.unmerge(conn, account, merges.get(conn, account, merge_id))
    assert contacts.get_contact(conn, account, winner)["attributes"] == {"name": "W", "city": "Lviv"}
    assert contacts.get_contact(conn, account, loser)["attributes"] == {"size": "M", "city": "Kyiv"}
    assert activity.get_cart(conn, account, loser) == [{"product_id": "L"}]
    assert activity.get_cart(conn, account, winner) == [{"product_id": "W"}]
    later = conn.execute(sa.select(interactions.c.contact_id).where(interactions.c.product_id == "LATER")).scalar()
    assert later == winner


def test_erase_forgets_claims_merges_and_origins(conn, account):
    person = contacts.resolve(conn, account, {"email": "p@x.test"})
    browser = contacts.resolve(conn, account, {"cookie": "b"})
    history(conn, account, browser, "B", order="O-B")
    contacts.merge(conn, account, loser=browser, winner=person, reason="test")
    claimant = contacts.resolve_claimed(conn, account, {"cookie": "other", "email": "p@x.test"})
    claimed_other = contacts.resolve(conn, account, {"email": "q@x.test"})
    contacts.resolve_claimed(conn, account, {"email": "q@x.test", "cookie": "b"})  # person claims q
    assert claims.of(conn, account, [person]) == {
        "made": [{"contactId": person, "claimedId": claimed_other, "createdAt": pytest.approx(0, abs=1e13)}],
        "received": [{"contactId": claimant, "claimedId": person, "createdAt": pytest.approx(0, abs=1e13)}]}
    contacts.erase(conn, account, person)
    assert claims.training_map(conn, account) == {}
    assert conn.execute(sa.select(contact_merges).where(contact_merges.c.account_id == account)).all() == []
    for table in (interactions, orders):
        (row,) = conn.execute(sa.select(table).where(table.c.account_id == account)).all()
        assert (row.contact_id, row.origin_contact_id) == (None, None)
    assert conn.execute(sa.select(carts).where(carts.c.account_id == account)).all() == []
    assert contacts.lookup(conn, account, {"cookie": "b"}) is None
    assert contacts.lookup(conn, account, {"cookie": "other"}) == claimant  # someone else: kept
