"""v2 names its contact by an identifier: a contact found is remembered a few seconds, nobody is not."""

from __future__ import annotations

import pytest

from recoms.services import known_contacts
from recoms.store import contacts
from tests.feeds import gmc_xml

EMAIL = "kim@shop.test"


@pytest.fixture
def lookups(monkeypatch) -> list[dict]:
    """The identifier lookups v2 makes in the database."""
    made: list[dict] = []
    real = contacts.lookup_on

    def counting(connections, account_id, ids):
        made.append(ids)
        return real(connections, account_id, ids)

    monkeypatch.setattr(contacts, "lookup_on", counting)
    return made


def recently_viewed(shop, ds: int, **query) -> list[str]:
    r = shop.client.get(f"/api/v2/contacts/recoms/{ds}", params=query, headers=shop.auth)
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()]


def viewed_by_kim(shop, product: str) -> None:
    shop.events([{"GeneralInfo": {"eventName": "ProductPage", "cookies": {"sc": "kim-cookie"},
                                  "user_email": EMAIL}, "ProductPage": {"productKey": product}}])


def test_a_customer_known_a_moment_ago_is_recognised_at_once_and_then_remembered(shop, lookups):
    shop.feed(gmc_xml([{"id": f"P{i}", "price": 10.0 + i} for i in range(1, 6)]))
    ds = shop.datasource(algorithm="recently_viewed", fallback=[])
    assert recently_viewed(shop, ds, email=EMAIL) == []  # nobody holds the email yet
    assert recently_viewed(shop, ds, email=EMAIL) == []
    assert len(lookups) == 2  # nobody is not remembered: each call looks

    viewed_by_kim(shop, "P3")  # the shop's server: Kim, by email, viewed P3
    assert recently_viewed(shop, ds, email=EMAIL) == ["P3"]
    viewed_by_kim(shop, "P4")
    assert recently_viewed(shop, ds, email=EMAIL) == ["P4", "P3"]  # the history is read each time
    assert len(lookups) == 3  # Kim's contact was looked up once


def test_a_contact_is_remembered_for_a_few_seconds_only(shop, lookups, monkeypatch):
    shop.feed(gmc_xml([{"id": "P1", "price": 10.0}]))
    ds = shop.datasource(algorithm="recently_viewed", fallback=[])
    viewed_by_kim(shop, "P1")
    clock = [1000.0]
    monkeypatch.setattr(known_contacts.time, "monotonic", lambda: clock[0])
    assert recently_viewed(shop, ds, email=EMAIL) == ["P1"]
    clock[0] += known_contacts.SECONDS - 0.5
    assert recently_viewed(shop, ds, email=EMAIL) == ["P1"]
    assert len(lookups) == 1
    clock[0] += 1.0
    assert recently_viewed(shop, ds, email=EMAIL) == ["P1"]
    assert len(lookups) == 2


def test_the_same_email_in_two_shops_names_each_shops_own_contact(shop, make_shop, lookups):
    other = make_shop()
    for each, product in ((shop, "A1"), (other, "B1")):
        each.feed(gmc_xml([{"id": product, "price": 10.0}]))
        viewed_by_kim(each, product)
    mine = shop.datasource(algorithm="recently_viewed", fallback=[])
    theirs = other.datasource(algorithm="recently_viewed", fallback=[])
    for _ in range(2):
        assert recently_viewed(shop, mine, email=EMAIL) == ["A1"]
        assert recently_viewed(other, theirs, email=EMAIL) == ["B1"]
    assert len(lookups) == 2
