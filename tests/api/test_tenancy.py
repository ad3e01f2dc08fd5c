"""Tenancy and plans (SPEC §1): nothing crosses accounts, recommendations need the 'extra' plan."""

from __future__ import annotations

import pytest

from tests.conftest import envelope
from tests.feeds import gmc_xml

PROBLEM = "application/problem+json"


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.fixture
def two(make_shop):
    """Account A and account B, each with a catalog, a trained data source and a known contact."""
    a, b = make_shop(), make_shop()
    a.feed(gmc_xml([{"id": "A-1"}, {"id": "SHARED", "name": "A's shared"}]))
    b.feed(gmc_xml([{"id": "B-ONLY", "name": "Secret"}, {"id": "SHARED", "name": "B's shared"}]))
    b.events([envelope("PurchasedItems", {"OrderNumber": "B-O1", "Products": [{"product_id": "B-ONLY"}]},
                       sc="b-visitor", user_email="bee@b.test")])
    a.train()
    b.train()
    a.ds = a.datasource(algorithm="bestsellers", size=5)
    b.ds = b.datasource(algorithm="bestsellers", size=5, name="B's private")
    b.contact = b.client.get("/api/v1/contacts", params={"email": "bee@b.test"}, headers=b.auth).json()["id"]
    return a, b


def test_products_of_another_account_are_invisible(two):
    a, b = two
    assert_problem(a.client.get("/api/v1/products/B-ONLY", headers=a.auth), 404)
    assert b.client.get("/api/v1/products/B-ONLY", headers=b.auth).status_code == 200
    # The same id in two catalogs: each account sees only its own product.
    assert a.client.get("/api/v1/products/SHARED", headers=a.auth).json()["name"] == "A's shared"
    assert b.client.get("/api/v1/products/SHARED", headers=b.auth).json()["name"] == "B's shared"


def test_feed_history_is_per_account(two):
    a, b = two
    history_a = a.client.get("/api/v1/feeds", headers=a.auth).json()
    history_b = b.client.get("/api/v1/feeds", headers=b.auth).json()
    assert len(history_a) == 1 and len(history_b) == 1
    assert history_a[0]["id"] != history_b[0]["id"]


def test_data_sources_of_another_account_are_404(two):
    a, b = two
    url = f"/api/v1/datasources/{b.ds}"
    assert_problem(a.client.get(url, headers=a.auth), 404)
    replaced = a.client.put(url, json={"name": "hijacked", "algorithm": "bestsellers"}, headers=a.auth)
    assert_problem(replaced, 404)
    assert_problem(a.client.delete(url, headers=a.auth), 404)
    listed = a.client.get("/api/v1/datasources", headers=a.auth).json()
    assert [ds["id"] for ds in listed] == [a.ds]
    # B's data source is untouched.
    mine = b.client.get(url, headers=b.auth)
    assert mine.status_code == 200 and mine.json()["name"] == "B's private"


def test_recoms_with_another_accounts_data_source_is_404_and_still_rotates_the_token(two):
    a, b = two
    token = a.token(email="anna@a.test")
    r = a.recoms(b.ds, token=token)
    assert_problem(r, 404)
    next_token = r.headers["ES-TOKEN"]
    assert next_token and next_token != token
    # The new token works on A's own data source and never shows B's products.
    r = a.recoms(a.ds, token=next_token)
    assert r.status_code == 200
    assert "B-ONLY" not in [p["id"] for p in r.json()]
    # POST form too.
    r = a.client.post(f"/api/v1/recoms/{b.ds}", json={}, headers={"ES-TOKEN": r.headers["ES-TOKEN"]})
    assert_problem(r, 404)
    assert r.headers["ES-TOKEN"]


def test_b_token_does_not_reach_a_data_source_either(two):
    a, b = two
    r = b.recoms(a.ds)
    assert_problem(r, 404)
    assert r.headers["ES-TOKEN"]


def test_contacts_of_another_account_are_404(two):
    a, b = two
    assert b.client.get(f"/api/v1/contacts/{b.contact}", headers=b.auth).status_code == 200
    assert_problem(a.client.get(f"/api/v1/contacts/{b.contact}", headers=a.auth), 404)
    assert_problem(a.client.get(f"/api/v1/contacts/{b.contact}/events", headers=a.auth), 404)
    assert_problem(a.client.get("/api/v1/contacts", params={"email": "bee@b.test"}, headers=a.auth), 404)
    assert_problem(a.client.get("/api/v1/contacts", params={"cookie": "b-visitor"}, headers=a.auth), 404)


def test_a_lookup_never_creates_a_contact(two):
    a, _b = two
    assert_problem(a.client.get("/api/v1/contacts", params={"email": "bee@b.test"}, headers=a.auth), 404)
    assert_problem(a.client.get("/api/v1/contacts", params={"email": "bee@b.test"}, headers=a.auth), 404)


def test_server_to_server_recoms_of_another_accounts_data_source_is_404(two):
    a, b = two
    r = a.client.get(f"/api/v2/contacts/recoms/{b.ds}", params={"email": "bee@b.test"}, headers=a.auth)
    assert_problem(r, 404)
    own = b.client.get(f"/api/v2/contacts/recoms/{b.ds}", params={"email": "bee@b.test"}, headers=b.auth)
    assert own.status_code == 200 and [p["id"] for p in own.json()][:1] == ["B-ONLY"]


def test_a_contact_id_of_another_account_gives_no_personal_data(two):
    a, b = two
    r = a.client.get(f"/api/v2/contacts/recoms/{a.ds}", params={"contactId": b.contact}, headers=a.auth)
    assert r.status_code == 200
    assert "B-ONLY" not in [p["id"] for p in r.json()]


# --- plans ------------------------------------------------------------------------------------


def assert_needs_extra(r) -> None:
    body = assert_problem(r, 403)
    assert "'extra'" in body["detail"]
    assert body["title"] == "Forbidden"


def test_basic_plan_cannot_get_a_token(make_shop):
    basic = make_shop("basic")
    r = basic.client.post("/api/v1/auth/contact/token", json={"email": "a@b.test"}, headers=basic.auth)
    assert_needs_extra(r)
    assert "ES-TOKEN" not in r.headers


def test_basic_plan_server_to_server_recoms_is_403(make_shop):
    basic = make_shop("basic")
    basic.feed(gmc_xml([{"id": "P1"}]))
    ds = basic.datasource(algorithm="bestsellers")
    r = basic.client.get(f"/api/v2/contacts/recoms/{ds}", params={"email": "a@b.test"}, headers=basic.auth)
    assert_needs_extra(r)
    # Also when the data source does not exist: the plan is checked, nothing else is revealed.
    r = basic.client.get("/api/v2/contacts/recoms/987654", params={"email": "a@b.test"}, headers=basic.auth)
    assert r.status_code in (403, 404) and r.headers["content-type"] == PROBLEM


def test_basic_plan_recoms_with_a_token_is_403_and_carries_a_new_token(make_shop, platform):
    basic = make_shop("basic")
    basic.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}]))
    basic.events([envelope("ProductPage", {"productKey": "P1"}, sc="basic-visitor")])
    contact = basic.client.get("/api/v1/contacts", params={"cookie": "basic-visitor"}, headers=basic.auth).json()
    ds = basic.datasource(algorithm="bestsellers")
    token = platform.ctx.tokens.issue(basic.account_id, contact["id"])
    r = basic.recoms(ds, token=token)
    assert_needs_extra(r)
    new = r.headers["ES-TOKEN"]
    assert new and new != token
    r = basic.client.post(f"/api/v1/recoms/{ds}", json={"products": ["P1"]}, headers={"ES-TOKEN": new})
    assert_needs_extra(r)
    assert r.headers["ES-TOKEN"] not in (token, new)
    # The token was used up by the refused request.
    assert basic.recoms(ds, token=token).status_code == 401


def test_tracking_and_catalog_work_on_the_basic_plan(make_shop):
    basic = make_shop("basic")
    report = basic.feed(gmc_xml([{"id": "P1"}, {"id": "P2"}]))
    assert report["itemsOk"] == 2
    result = basic.events([envelope("ProductPage", {"productKey": "P1"})])
    assert result["accepted"] == 1
    web = basic.client.post("/api/v2/tracking", json=envelope("ProductPage", {"productKey": "P2"},
                                                               siteId=basic.site_id))
    assert web.status_code == 200 and web.json()["accepted"] == 1
    assert basic.client.get("/api/v1/products/P1", headers=basic.auth).status_code == 200
    assert basic.client.get("/api/v1/feeds", headers=basic.auth).status_code == 200
