"""One transaction for many events: the identity shortcuts give what the slow paths (store.contacts'
resolve and resolve_claimed, one event at a time) give; rows held until the end follow merges; a failed
event leaves nothing behind for the next ones; requests grouped together see each other's event ids."""

from __future__ import annotations

import random
from collections import Counter

import orjson
import pytest
import sqlalchemy as sa

from recoms.services import tracking
from recoms.services.accounts import create_account
from recoms.services.contacts import unmerge
from recoms.services.tracking import ingest, parse_events, store_requests
from recoms.store.tables import (
    carts,
    contact_claims,
    contact_identifiers,
    contact_merges,
    contacts,
    events,
    interactions,
    orders,
    products,
)
from tests.conftest import envelope

T0 = 1_760_000_000_000


def history(seed: int, n: int) -> list[dict]:
    """Events whose identifiers collide on purpose: devices shared by customers, customers on several
    devices, emails given before the customer id, logins from the browser and from the shop's server, and
    orders (some numbers sent twice)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        info: dict = {}
        if rng.random() < 0.45:
            info["externalCustomerId"] = f"c{rng.randrange(6)}"
        if rng.random() < 0.45:
            info["user_email"] = f"e{rng.randrange(6)}@shop.test"
        kind = rng.choice(["ProductPage", "ProductPage", "StatusCart", "CustomerData", "PurchasedItems"])
        lines = [{"productKey": f"P{rng.randrange(5)}", "quantity": 1}]
        payload = ({"productKey": f"P{rng.randrange(5)}"} if kind == "ProductPage" else
                   {"Products": lines} if kind == "StatusCart" else
                   {"OrderNumber": f"o{rng.randrange(30)}", "Products": lines} if kind == "PurchasedItems" else {})
        event = envelope(kind, payload, sc=f"d{rng.randrange(8)}", ts=T0 + i)
        if kind == "CustomerData":
            del event["CustomerData"]
            event["GeneralInfo"].update(info or {"user_email": f"e{rng.randrange(6)}@shop.test"})
        else:
            event["GeneralInfo"].update(info)
        out.append(event)
    return out


def sessions(seed: int, n: int) -> list[dict]:
    """A shop's history as an import sees it: each session a new device, browsing and filling a cart
    anonymously, and some logging in (an email, a customer id, or both) as one of a few customers."""
    rng = random.Random(seed)
    out: list[dict] = []
    session = 0
    while len(out) < n:
        session += 1
        device = f"s{session}"
        for _ in range(rng.randrange(1, 5)):
            if rng.random() < 0.3:
                payload = {"Products": [{"productKey": f"P{rng.randrange(5)}", "quantity": 1}]}
                out.append(envelope("StatusCart", payload, sc=device, ts=T0 + len(out)))
            else:
                out.append(envelope("ProductPage", {"productKey": f"P{rng.randrange(5)}"}, sc=device, ts=T0 + len(out)))
        if rng.random() < 0.6:
            customer = rng.randrange(6)
            login = rng.choice([{"user_email": f"e{customer}@shop.test"}, {"externalCustomerId": f"c{customer}"},
                                {"user_email": f"e{customer}@shop.test", "externalCustomerId": f"c{customer}"}])
            out.append(envelope("ProductPage", {"productKey": f"P{rng.randrange(5)}"}, sc=device,
                                ts=T0 + len(out), **login))
    return out


def identity_shape(engine: sa.Engine, account_id: int) -> tuple:
    """The account's people as sets of (kind, value, verified), with their claims, events, orders and carts,
    free of contact ids (two accounts built the same way compare equal), and how many merges it recorded."""
    ci = contact_identifiers
    with engine.connect() as conn:
        held: dict[int, set] = {}
        for r in conn.execute(sa.select(ci.c.contact_id, ci.c.kind, ci.c.value, ci.c.verified)
                              .where(ci.c.account_id == account_id)):
            held.setdefault(r.contact_id, set()).add((r.kind, r.value, bool(r.verified)))
        name = {contact: frozenset(ids) for contact, ids in held.items()}
        claims = {(name.get(r.contact_id), name.get(r.claimed_id)) for r in conn.execute(
            sa.select(contact_claims.c.contact_id, contact_claims.c.claimed_id)
            .where(contact_claims.c.account_id == account_id))}
        per_person = Counter(name.get(r.contact_id) for r in conn.execute(
            sa.select(events.c.contact_id).where(events.c.account_id == account_id)))
        ordered = {(r.order_number, name.get(r.contact_id)) for r in conn.execute(
            sa.select(orders.c.order_number, orders.c.contact_id).where(orders.c.account_id == account_id))}
        in_carts = {(name.get(r.contact_id), orjson.dumps(r.lines).decode()) for r in conn.execute(
            sa.select(carts.c.contact_id, carts.c.lines).where(carts.c.account_id == account_id))}
        merged = conn.execute(sa.select(sa.func.count()).select_from(contact_merges)
                              .where(contact_merges.c.account_id == account_id)).scalar_one()
    return (frozenset(name.values()), frozenset(claims), frozenset(per_person.items()), frozenset(ordered),
            frozenset(in_carts), merged)


@pytest.mark.parametrize(("sources", "made"), [(("web",), "history"), (("api",), "history"),
                                               (("web", "api"), "history"), (("api",), "sessions")])
def test_one_transaction_gives_the_people_the_slow_paths_give_one_event_at_a_time(platform, monkeypatch, sources,
                                                                                   made):
    """A group commit's requests (one event each, from the browser or the shop's server) in one transaction,
    against each event in a transaction of its own through the slow paths only. Sessions: new visitors that
    log in as customers known by then (`Pending.join_new_visitor`)."""
    engine = platform.engine
    batch = create_account(engine, "batched")["account_id"]
    alone = create_account(engine, "one by one")["account_id"]
    rng = random.Random(5)
    made_events = history(seed=11, n=200) if made == "history" else sessions(seed=3, n=200)
    requests = [(event, rng.choice(sources)) for event in made_events]
    with engine.begin() as conn:
        results = store_requests(conn, [(batch, source, parse_events([event])) for event, source in requests])
    assert all(r.accepted == 1 for r in results)
    monkeypatch.setattr(tracking._Request, "_vouched", lambda self, ids: None)
    monkeypatch.setattr(tracking._Request, "_claim", lambda self, ids, own: None)
    for event, source in requests:
        assert ingest(engine, alone, [event], source).accepted == 1
    shape = identity_shape(engine, batch)
    assert shape == identity_shape(engine, alone)
    people, claims, _histories, ordered, in_carts, merged = shape
    assert in_carts and (merged > 0) == ("api" in sources)  # the shop's server vouches: merges
    assert 10 < len(ordered) <= 30 if made == "history" else merged >= 20  # logins of known customers
    if len(sources) == 2:  # the history is one that exercises merges and claims
        assert claims and any(len({kind for kind, _v, _ok in person}) < len(person) for person in people)


def test_rows_held_in_the_transaction_follow_a_merge_and_go_home_when_it_is_undone(platform):
    engine = platform.engine
    account = create_account(engine, "merge in a batch")["account_id"]
    result = ingest(engine, account, [
        envelope("ProductPage", {"productKey": "P1"}, sc="laptop", ts=T0),  # a new visitor
        envelope("ProductPage", {"productKey": "P2"}, sc="phone", ts=T0 + 1, user_email="a@shop.test"),
        envelope("ProductPage", {"productKey": "P3"}, sc="laptop", ts=T0 + 2, user_email="a@shop.test"),  # merge
    ], "api")
    assert result.accepted == 3
    with engine.connect() as conn:
        owners = dict(conn.execute(sa.select(interactions.c.product_id, interactions.c.contact_id)
                                   .where(interactions.c.account_id == account)).all())
        origins = dict(conn.execute(sa.select(events.c.ts, events.c.origin_contact_id)
                                    .where(events.c.account_id == account)).all())
    assert owners["P1"] == owners["P2"] == owners["P3"]  # the laptop's visitor is the customer now
    laptop = origins[T0]
    assert laptop is not None and laptop != owners["P1"]  # its first event remembers where it came from
    unmerge(engine, account, contact_id=laptop)
    with engine.connect() as conn:
        owners = dict(conn.execute(sa.select(interactions.c.product_id, interactions.c.contact_id)
                                   .where(interactions.c.account_id == account)).all())
    assert owners["P1"] == laptop and owners["P2"] != laptop


def test_an_event_refused_after_it_made_a_contact_leaves_none_for_the_next_events(platform):
    engine = platform.engine
    account = create_account(engine, "refused")["account_id"]
    device = {"eventName": "orderUpdated", "userPseudoId": "new-device", "datetime": T0,
              "params": {"orderNumber": "nobody-knows"}}
    viewed = {"eventName": "productViewed", "userPseudoId": "new-device", "datetime": T0 + 1,
              "params": {"productKey": "P1"}}
    result = ingest(engine, account, [device, viewed], "mobile", "mobile")
    assert result.accepted == 1 and "not known" in result.errors[0]["reason"]
    with engine.connect() as conn:
        holder = conn.execute(sa.select(contact_identifiers.c.contact_id).where(
            contact_identifiers.c.account_id == account)).scalar_one()
        viewer = conn.execute(sa.select(interactions.c.contact_id).where(
            interactions.c.account_id == account)).scalar_one()
    assert viewer == holder


def test_requests_stored_together_see_each_others_event_ids(platform):
    engine = platform.engine
    account = create_account(engine, "grouped keys")["account_id"]
    event = envelope("ProductPage", {"productKey": "P1"}, sc="v", ts=T0, eventId="same")
    with engine.begin() as conn:
        first, second = store_requests(conn, [(account, "api", parse_events([event])),
                                              (account, "api", parse_events([event]))])
    assert first.accepted == second.accepted == 1
    assert not first.duplicates and "already stored" in second.duplicates[0]["reason"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)
                            .where(events.c.account_id == account)).scalar() == 1


def test_a_cancellation_in_the_same_transaction_as_its_order_takes_the_purchases_back(platform):
    engine = platform.engine
    account = create_account(engine, "cancel")["account_id"]
    bought = envelope("PurchasedItems", {"OrderNumber": "o1", "Products": [{"product_id": "P1"}]}, sc="v", ts=T0)
    cancelled = {"eventName": "orderCancelled", "userPseudoId": "app-1", "datetime": T0 + 1,
                 "params": {"orderNumber": "o1"}}
    with engine.begin() as conn:
        store_requests(conn, [(account, "api", parse_events([bought])),
                              (account, "mobile", parse_events([cancelled], "mobile"))])
    with engine.connect() as conn:
        assert conn.execute(sa.select(orders.c.status).where(orders.c.account_id == account)).scalar() == "cancelled"
        assert conn.execute(sa.select(sa.func.count()).select_from(interactions).where(
            interactions.c.account_id == account, interactions.c.kind == 3)).scalar() == 0


def test_a_product_update_after_a_page_view_in_the_same_transaction_wins(platform):
    engine = platform.engine
    account = create_account(engine, "prices")["account_id"]
    result = ingest(engine, account, [
        envelope("ProductUpdate", [{"product_id": "P1", "name": "One", "price": 10}], sc="v", ts=T0),
        envelope("ProductPage", {"productKey": "P1", "price": 12}, sc="v", ts=T0 + 1),
        envelope("ProductUpdate", [{"product_id": "P1", "price": 15}], sc="v", ts=T0 + 2),
    ], "api")
    assert result.accepted == 3
    with engine.connect() as conn:
        assert conn.execute(sa.select(products.c.price).where(products.c.account_id == account)).scalar() == 15


@pytest.mark.parametrize("source", ["api", "web"])
def test_a_visitor_resolved_earlier_in_the_transaction_follows_a_merge_or_link_made_after(platform, source):
    """The identifiers an event resolved are remembered for the visitor's next events of the transaction;
    a merge (the shop's server) or a claim's slow path in between must not leave those on the old contact."""
    engine = platform.engine
    account = create_account(engine, f"memo {source}")["account_id"]
    result = ingest(engine, account, [
        envelope("ProductPage", {"productKey": "P1"}, sc="laptop", ts=T0),
        envelope("ProductPage", {"productKey": "P2"}, sc="phone", ts=T0 + 1, user_email="a@shop.test"),
        envelope("ProductPage", {"productKey": "P3"}, sc="laptop", ts=T0 + 2, user_email="a@shop.test"),
        envelope("ProductPage", {"productKey": "P4"}, sc="laptop", ts=T0 + 3),  # the laptop again, alone
    ], source)
    assert result.accepted == 4
    with engine.connect() as conn:
        owners = dict(conn.execute(sa.select(interactions.c.product_id, interactions.c.contact_id)
                                   .where(interactions.c.account_id == account)).all())
    assert owners["P4"] == owners["P3"]  # wherever the laptop went, its next event went too
    if source == "api":
        assert owners["P1"] == owners["P2"] == owners["P3"] == owners["P4"]


def test_a_customer_id_given_by_a_merge_keeps_a_second_customer_off_the_contact(platform):
    """The transaction remembers which contacts hold a customer id; a merge that gives one must not leave
    the contact remembered without: the next customer sharing its email gets a contact of their own."""
    engine = platform.engine
    account = create_account(engine, "two customers, one email")["account_id"]
    result = ingest(engine, account, [
        envelope("ProductPage", {"productKey": "P1"}, sc="laptop", ts=T0, user_email="family@shop.test"),
        envelope("ProductPage", {"productKey": "P2"}, sc="phone", ts=T0 + 1),
        envelope("ProductPage", {"productKey": "P3"}, sc="phone", ts=T0 + 2, user_email="family@shop.test",
                 externalCustomerId="c1"),  # the phone joins the laptop's contact, which gets c1
        envelope("ProductPage", {"productKey": "P4"}, sc="tablet", ts=T0 + 3, user_email="family@shop.test",
                 externalCustomerId="c2"),  # another customer of the shop with the same email
    ], "api")
    assert result.accepted == 4
    ci = contact_identifiers
    with engine.connect() as conn:
        holders = dict(conn.execute(sa.select(ci.c.value, ci.c.contact_id).where(
            ci.c.account_id == account, ci.c.kind == "external_id")).all())
        owners = dict(conn.execute(sa.select(interactions.c.product_id, interactions.c.contact_id)
                                   .where(interactions.c.account_id == account)).all())
    assert holders["c1"] != holders["c2"]
    assert owners["P1"] == owners["P2"] == owners["P3"] == holders["c1"] and owners["P4"] == holders["c2"]


def _slow_path_refused(monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("took the slow path")
    monkeypatch.setattr(tracking._Request, "_slow", refuse)


def by(engine: sa.Engine, account_id: int, key: sa.Column, value: sa.Column) -> dict:
    """`key` -> `value` over one account's rows of their table."""
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(key, value).where(key.table.c.account_id == account_id)).all())


def test_a_new_visitor_logging_in_joins_the_customer_without_a_slow_path_and_can_be_undone(platform, monkeypatch):
    """An anonymous session that logs in within one transaction (an import's usual merge): its contact, not
    written yet, is merged into the customer's in the rows held, recorded as any merge is, and undone alike."""
    engine = platform.engine
    account = create_account(engine, "login in a chunk")["account_id"]
    ingest(engine, account, [envelope("ProductPage", {"productKey": "P0"}, sc="old-laptop", ts=T0,
                                      user_email="ann@shop.test", externalCustomerId="ann")], "api")
    _slow_path_refused(monkeypatch)
    cart = {"Products": [{"productKey": "P2", "quantity": 1, "price": 5}]}
    result = ingest(engine, account, [
        envelope("ProductPage", {"productKey": "P1"}, sc="phone", ts=T0 + 1),  # a new visitor
        envelope("StatusCart", cart, sc="phone", ts=T0 + 2),
        envelope("ProductPage", {"productKey": "P3"}, sc="phone", ts=T0 + 3, user_email="ann@shop.test"),
    ], "import")
    assert result.accepted == 3 and not result.errors
    ci = contact_identifiers.c
    holders = by(engine, account, ci.value, ci.contact_id)
    ann, phone = holders["ann"], by(engine, account, ci.value, ci.origin_contact_id)["phone"]
    assert holders == {"old-laptop": ann, "ann@shop.test": ann, "ann": ann, "phone": ann}
    assert phone is not None and phone != ann
    assert by(engine, account, contacts.c.id, contacts.c.merged_into)[phone] == ann
    assert by(engine, account, interactions.c.product_id, interactions.c.contact_id) == {
        "P0": ann, "P1": ann, "P2": ann, "P3": ann}
    with engine.connect() as conn:
        (merge,) = conn.execute(sa.select(contact_merges).where(contact_merges.c.account_id == account)).all()
    assert (merge.loser_id, merge.winner_id, merge.reason) == (phone, ann, "import: cookie")
    assert list(by(engine, account, carts.c.contact_id, carts.c.lines)) == [ann]  # the visitor's cart moved
    monkeypatch.undo()
    unmerge(engine, account, contact_id=phone)
    assert by(engine, account, interactions.c.product_id, interactions.c.contact_id) == {
        "P0": ann, "P1": phone, "P2": phone, "P3": ann}
    assert by(engine, account, ci.value, ci.contact_id)["phone"] == phone
    assert list(by(engine, account, carts.c.contact_id, carts.c.lines)) == [phone]


def test_new_visitors_merged_in_a_chain_point_at_the_last_winner(platform, monkeypatch):
    """A new visitor merged into another new one, which then joins a stored customer: both point at the
    customer (as merges on the database leave them), and undoing the second brings the first back with it."""
    engine = platform.engine
    account = create_account(engine, "chain in a chunk")["account_id"]
    ingest(engine, account, [envelope("ProductPage", {"productKey": "P0"}, sc="desk", ts=T0,
                                      externalCustomerId="bo")], "api")
    _slow_path_refused(monkeypatch)
    cart = {"Products": [{"productKey": "P9", "quantity": 1, "price": 5}]}
    result = ingest(engine, account, [
        envelope("ProductPage", {"productKey": "P1"}, sc="tablet", ts=T0 + 1),
        envelope("StatusCart", cart, sc="tablet", ts=T0 + 2),
        envelope("ProductPage", {"productKey": "P2"}, sc="phone", ts=T0 + 3, user_email="bo@shop.test"),
        envelope("ProductPage", {"productKey": "P3"}, sc="tablet", ts=T0 + 4, user_email="bo@shop.test"),
        envelope("ProductPage", {"productKey": "P4"}, sc="phone", ts=T0 + 5, externalCustomerId="bo"),
    ], "import")
    assert result.accepted == 5 and not result.errors
    ci = contact_identifiers.c
    bo = by(engine, account, ci.value, ci.contact_id)["bo"]
    origin = by(engine, account, ci.value, ci.origin_contact_id)
    tablet, phone = origin["tablet"], origin["phone"]
    assert origin["bo@shop.test"] == phone and tablet not in (None, phone, bo)
    assert by(engine, account, contacts.c.id, contacts.c.merged_into) == {bo: None, tablet: bo, phone: bo}
    assert set(by(engine, account, interactions.c.product_id, interactions.c.contact_id).values()) == {bo}
    assert list(by(engine, account, carts.c.contact_id, carts.c.lines)) == [bo]  # the tablet's cart, twice moved
    monkeypatch.undo()
    unmerge(engine, account, contact_id=phone)
    assert by(engine, account, contacts.c.id, contacts.c.merged_into) == {bo: None, tablet: phone, phone: None}
    assert by(engine, account, interactions.c.product_id, interactions.c.contact_id) == {
        "P0": bo, "P1": phone, "P2": phone, "P3": phone, "P4": bo, "P9": phone}
