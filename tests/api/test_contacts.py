"""Contact identity (SPEC §2): token requests find, attach, merge and create contacts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from recoms.services.accounts import create_key
from recoms.store.tables import contacts, interactions
from tests.conftest import basic, envelope

# Request field -> the identifier kind the contact API shows.
KIND = {"externalCustomerId": "external_id", "email": "email", "phone": "phone", "userPseudoId": "pseudo_id",
        "cookie": "cookie"}
ORDER = ["externalCustomerId", "email", "phone", "userPseudoId", "cookie"]
SAMPLE = {"externalCustomerId": "C-100", "email": "who@shop.test", "phone": "380501112233",
          "userPseudoId": "fb-app-1", "cookie": "sc-cookie-1"}
T0 = 1_750_000_000_000  # event times, in ms


def lookup(shop, **query: str):
    return shop.client.get("/api/v1/contacts", params=query, headers=shop.auth)


def contact(shop, **query: str) -> dict:
    r = lookup(shop, **query)
    assert r.status_code == 200, r.text
    return r.json()


def live_contacts(platform, account_id: int) -> list[int]:
    with platform.engine.connect() as conn:
        rows = conn.execute(sa.select(contacts.c.id).where(contacts.c.account_id == account_id,
                                                           contacts.c.merged_into.is_(None)))
        return sorted(r.id for r in rows)


def test_the_same_email_twice_is_the_same_contact(shop, platform):
    shop.token(email="anna@shop.test")
    first = contact(shop, email="anna@shop.test")
    shop.token(email="anna@shop.test")
    assert contact(shop, email="anna@shop.test")["id"] == first["id"]
    assert live_contacts(platform, shop.account_id) == [first["id"]]
    assert first["identifiers"] == {"email": ["anna@shop.test"]}


def test_a_lookup_of_an_unknown_identifier_is_404_and_creates_nothing(shop, platform):
    r = lookup(shop, email="nobody@shop.test")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert live_contacts(platform, shop.account_id) == []


def test_a_new_identifier_is_attached_to_the_known_contact(shop, platform):
    shop.token(email="anna@shop.test")
    shop.token(email="anna@shop.test", phone="380501234567", userPseudoId="fb-9", cookie="sc-9")
    found = contact(shop, cookie="sc-9")
    assert found["identifiers"] == {"email": ["anna@shop.test"], "phone": ["380501234567"],
                                    "pseudo_id": ["fb-9"], "cookie": ["sc-9"]}
    assert live_contacts(platform, shop.account_id) == [found["id"]]
    for field in ("phone", "userPseudoId"):
        assert contact(shop, **{field: {"phone": "380501234567", "userPseudoId": "fb-9"}[field]})["id"] == found["id"]


@pytest.mark.parametrize("stronger, weaker", [(ORDER[i], ORDER[j]) for i in range(5) for j in range(i + 1, 5)],
                         ids=[f"{ORDER[i]}>{ORDER[j]}" for i in range(5) for j in range(i + 1, 5)])
def test_lookup_order_the_stronger_identifier_names_the_contact(shop, platform, stronger, weaker):
    shop.token(**{stronger: SAMPLE[stronger]})
    shop.token(**{weaker: SAMPLE[weaker]})
    strong = contact(shop, **{stronger: SAMPLE[stronger]})["id"]
    weak = contact(shop, **{weaker: SAMPLE[weaker]})["id"]
    assert strong != weak
    shop.token(**{weaker: SAMPLE[weaker], stronger: SAMPLE[stronger]})  # the order in the body does not matter
    merged = contact(shop, **{weaker: SAMPLE[weaker]})
    assert merged["id"] == strong  # the stronger identifier's contact survives
    assert merged["identifiers"] == {KIND[stronger]: [SAMPLE[stronger]], KIND[weaker]: [SAMPLE[weaker]]}
    assert live_contacts(platform, shop.account_id) == [strong]
    # The merged-away id still leads home.
    assert shop.client.get(f"/api/v1/contacts/{weak}", headers=shop.auth).json()["id"] == strong


def test_all_five_identifiers_on_five_contacts_become_the_external_id_contact(shop, platform):
    for field in ORDER:
        shop.token(**{field: SAMPLE[field]})
    ids = {field: contact(shop, **{field: SAMPLE[field]})["id"] for field in ORDER}
    assert len(set(ids.values())) == 5
    shop.token(**dict(reversed(list(SAMPLE.items()))))
    merged = contact(shop, cookie=SAMPLE["cookie"])
    assert merged["id"] == ids["externalCustomerId"]
    assert merged["identifiers"] == {KIND[f]: [SAMPLE[f]] for f in ORDER}
    assert live_contacts(platform, shop.account_id) == [ids["externalCustomerId"]]


def test_merging_moves_the_history(shop, platform):
    shop.events([envelope("ProductPage", {"productKey": "X-VIEW"}, sc="sc-x", user_email="x@shop.test", ts=T0 + 1_000),
                 envelope("ProductPage", {"productKey": "Y-VIEW"}, sc="sc-y", user_phone="+380 50 999 88 77",
                          ts=T0 + 2_000),
                 envelope("PurchasedItems", {"OrderNumber": "Y-1", "Products": [{"product_id": "Y-BUY"}]},
                          sc="sc-y", ts=T0 + 3_000)])
    x = contact(shop, email="x@shop.test")["id"]
    y = contact(shop, phone="380509998877")["id"]
    assert x != y
    before_y = shop.client.get(f"/api/v1/contacts/{y}/events", headers=shop.auth).json()
    assert sorted(e["type"] for e in before_y) == ["ProductPage", "PurchasedItems"]

    shop.token(email="X@shop.test", phone="380509998877")

    merged = contact(shop, phone="380509998877")
    assert merged["id"] == x  # email outranks phone
    assert {kind: sorted(values) for kind, values in merged["identifiers"].items()} == {
        "email": ["x@shop.test"], "phone": ["380509998877"], "cookie": ["sc-x", "sc-y"]}
    events = shop.client.get(f"/api/v1/contacts/{x}/events", headers=shop.auth).json()
    assert [e["type"] for e in events] == ["PurchasedItems", "ProductPage", "ProductPage"]  # newest first
    assert [e["ts"] for e in events] == [T0 + 3_000, T0 + 2_000, T0 + 1_000]
    # The old id shows the same merged history.
    assert shop.client.get(f"/api/v1/contacts/{y}/events", headers=shop.auth).json() == events
    with platform.engine.connect() as conn:
        owners = conn.execute(sa.select(interactions.c.product_id, interactions.c.contact_id).where(
            interactions.c.account_id == shop.account_id)).all()
    assert sorted(owners) == [("X-VIEW", x), ("Y-BUY", x), ("Y-VIEW", x)]
    assert live_contacts(platform, shop.account_id) == [x]


def test_extid_is_an_alias_of_external_customer_id(shop, platform):
    shop.token(extid="C-7")
    found = contact(shop, externalCustomerId="C-7")
    assert found["identifiers"] == {"external_id": ["C-7"]}
    shop.token(externalCustomerId="C-7", email="c7@shop.test")
    shop.token(extid="C-7", phone="380501230000")
    assert contact(shop, email="c7@shop.test")["id"] == found["id"]
    assert contact(shop, phone="380501230000")["id"] == found["id"]
    assert live_contacts(platform, shop.account_id) == [found["id"]]


@pytest.mark.parametrize("written, looked_up", [
    ("+38 (050) 123-45-67", "380501234567"),
    ("380501234567", "+38 (050) 123-45-67"),
    ("+38.050.123.45.67", "38 050 123 45 67"),
])
def test_phone_numbers_are_normalised(shop, platform, written, looked_up):
    shop.token(phone=written)
    found = contact(shop, phone=looked_up)
    assert found["identifiers"] == {"phone": ["380501234567"]}
    shop.token(phone="380501234567")
    shop.token(phone="+38 (050) 123-45-67")
    assert live_contacts(platform, shop.account_id) == [found["id"]]


def test_emails_are_case_insensitive(shop, platform):
    shop.token(email="Anna.K@Example.COM")
    found = contact(shop, email="anna.k@example.com")
    assert found["identifiers"] == {"email": ["anna.k@example.com"]}
    shop.token(email="ANNA.K@EXAMPLE.COM")
    shop.token(email="  anna.k@example.com ")
    assert contact(shop, email="ANNA.k@example.com")["id"] == found["id"]
    assert live_contacts(platform, shop.account_id) == [found["id"]]


def test_known_customers_with_different_external_ids_are_not_merged_by_a_shared_email(shop, platform):
    shop.token(externalCustomerId="A-1")
    shop.token(externalCustomerId="B-2")
    a = contact(shop, externalCustomerId="A-1")["id"]
    b = contact(shop, externalCustomerId="B-2")["id"]
    shop.token(externalCustomerId="A-1", email="family@shop.test")
    shop.token(externalCustomerId="B-2", email="family@shop.test")
    assert contact(shop, externalCustomerId="A-1")["id"] == a
    assert contact(shop, externalCustomerId="B-2")["id"] == b
    assert contact(shop, externalCustomerId="B-2")["identifiers"]["external_id"] == ["B-2"]
    assert contact(shop, externalCustomerId="A-1")["identifiers"]["external_id"] == ["A-1"]
    assert live_contacts(platform, shop.account_id) == sorted([a, b])


def test_a_new_customer_sharing_an_email_gets_a_contact_of_its_own(shop, platform):
    shop.token(externalCustomerId="A-1", email="family@shop.test")
    shop.token(externalCustomerId="B-2", email="family@shop.test")
    a = contact(shop, externalCustomerId="A-1")
    b = contact(shop, externalCustomerId="B-2")
    assert a["id"] != b["id"]
    assert a["identifiers"]["external_id"] == ["A-1"] and b["identifiers"]["external_id"] == ["B-2"]


def test_known_customers_with_different_external_ids_are_not_merged_by_a_shared_phone(shop, platform):
    shop.token(externalCustomerId="A-1", phone="380500000001")
    shop.token(externalCustomerId="B-2")
    shop.token(externalCustomerId="B-2", phone="380500000001")
    a = contact(shop, externalCustomerId="A-1")["id"]
    b = contact(shop, externalCustomerId="B-2")["id"]
    assert a != b
    assert live_contacts(platform, shop.account_id) == sorted([a, b])


def test_contacts_need_the_contacts_manage_scope(shop):
    shop.token(email="anna@shop.test")
    limited = basic(create_key(shop.platform.engine, shop.account_id, ["contacts:token"])["api_key"])
    r = shop.client.get("/api/v1/contacts", params={"email": "anna@shop.test"}, headers=limited)
    assert r.status_code == 403 and "contacts:manage" in r.json()["detail"]
    found = contact(shop, email="anna@shop.test")
    assert shop.client.get(f"/api/v1/contacts/{found['id']}", headers=limited).status_code == 403
    assert shop.client.get(f"/api/v1/contacts/{found['id']}/events", headers=limited).status_code == 403
    assert shop.client.get("/api/v1/contacts", params={"email": "anna@shop.test"}).status_code == 401
