"""The public site id cannot take over a customer (identity trust).

Identifiers that come with only the public site id (or the app's public mobile key) are claims: the
visitor keeps a contact of its own, the claim is recorded and joins the histories for training only.
The shop's server (its API key) makes verified links; merges are recorded and can be undone; a contact
can be exported and erased by any identifier.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from recoms.cli import app as cli
from recoms.services.accounts import create_key
from recoms.settings import get_settings
from recoms.store.tables import (
    carts,
    contact_claims,
    contact_identifiers,
    contact_merges,
    contacts,
    events,
    interactions,
    orders,
)
from recoms.training import data as training_data
from tests.conftest import basic
from tests.feeds import gmc_xml

T0 = 1_764_000_000_000
VICTIM_EMAIL = "vera@shop.test"


def rows(platform, table, account_id, *where) -> list:
    with platform.engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.account_id == account_id, *where)).all()


def browser(shop, event: str, payload: dict | None = None, sc: str = "attacker", ts: int = T0, **info) -> None:
    """What any browser can send: the public site id and its own cookie, no key."""
    general = {"eventName": event, "siteId": shop.site_id, "datetime": ts, "cookies": {"sc": sc}, **info}
    r = shop.client.post("/api/v2/tracking", json={"GeneralInfo": general, event: payload or {}})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def server(shop, event: str, payload: dict, sc: str, ts: int = T0, **info) -> None:
    """The shop's server sends the same envelope with its API key."""
    shop.events([{"GeneralInfo": {"eventName": event, "datetime": ts, "cookies": {"sc": sc}, **info},
                  event: payload}])


def lookup(shop, **query):
    return shop.client.get("/api/v1/contacts", params=query, headers=shop.auth)


def contact_id(shop, **query) -> int:
    r = lookup(shop, **query)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def viewed(shop, ds: int, token: str) -> list[str]:
    r = shop.recoms(ds, token=token)
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()]


@pytest.fixture
def victim(shop):
    """A customer the shop knows: profile and order from its server, views and a cart in their browser."""
    shop.feed(gmc_xml([{"id": f"P{i}", "price": 10.0 + i} for i in range(1, 10)]))
    r = shop.client.post("/api/v1/contact", headers=shop.auth, json={
        "externalCustomerId": "V-1", "firstName": "Vera", "channels": [{"type": "email", "value": VICTIM_EMAIL}]})
    assert r.status_code == 200, r.text
    r = shop.client.post("/api/v1/orders", headers=shop.auth, json={"orders": [{
        "externalOrderId": "O-1", "externalCustomerId": "V-1", "email": VICTIM_EMAIL, "status": "DELIVERED",
        "date": "2025-11-24T10:00:00Z", "totalCost": 23, "items": [
            {"externalItemId": "P1", "quantity": 1, "cost": 11},
            {"externalItemId": "P2", "quantity": 1, "cost": 12}]}]})
    assert r.status_code == 200, r.text
    server(shop, "ProductPage", {"productKey": "P3"}, sc="victim-cookie", ts=T0 + 1_000, user_email=VICTIM_EMAIL)
    server(shop, "StatusCart", {"GUID": "v", "Products": [{"productKey": "P4", "price": 14, "quantity": 1}]},
           sc="victim-cookie", ts=T0 + 2_000)
    return contact_id(shop, email=VICTIM_EMAIL)


def attack(shop) -> None:
    """The attacker browses, then claims the victim's email with only the site id."""
    browser(shop, "ProductPage", {"productKey": "P7"}, ts=T0 + 10_000)
    browser(shop, "StatusCart", {"GUID": "a", "Products": [{"productKey": "P8", "price": 18, "quantity": 1}]},
            ts=T0 + 11_000)
    browser(shop, "CustomerData", {"user_email": VICTIM_EMAIL, "user_name": "Mallory"}, ts=T0 + 12_000)


# ---- the attack ---------------------------------------------------------------------------------

def test_a_browser_claiming_a_customers_email_gets_none_of_their_history(shop, platform, victim):
    """Fails before identity trust: the CustomerData merged the attacker's cookie into the victim, so
    the token the shop then asked for that cookie returned the victim's views and profile."""
    recently = shop.datasource(algorithm="recently_viewed", size=10, fallback=[])
    attack(shop)
    # The normal flow: the shop's server asks for a token for the visitor's cookie.
    assert viewed(shop, recently, shop.token(cookie="attacker")) == ["P8", "P7"]  # its own cart and view
    r = shop.client.get(f"/api/v2/contacts/recoms/{recently}", params={"webId": "attacker"}, headers=shop.auth)
    assert [p["id"] for p in r.json()] == ["P8", "P7"]
    seen = lookup(shop, cookie="attacker").json()
    assert seen["id"] != victim
    assert seen["identifiers"] == {"cookie": ["attacker"]} and "unverifiedIdentifiers" not in seen
    assert seen["attributes"] == {"user_name": "Mallory"}
    # The victim is untouched: their own identifiers, profile and history only.
    own = lookup(shop, email=VICTIM_EMAIL).json()
    assert own["id"] == victim and own["attributes"] == {"firstName": "Vera"}
    assert own["identifiers"] == {"cookie": ["victim-cookie"], "email": [VICTIM_EMAIL], "external_id": ["V-1"]}
    assert viewed(shop, recently, shop.token(email=VICTIM_EMAIL)) == ["P4", "P3"]
    # The claim is recorded, nothing was merged.
    claims = rows(platform, contact_claims, shop.account_id)
    assert [(c.contact_id, c.claimed_id) for c in claims] == [(seen["id"], victim)]
    assert rows(platform, contact_merges, shop.account_id) == []


def test_the_claim_joins_the_visitors_history_to_the_customer_for_training_only(shop, platform, victim):
    attack(shop)
    attacker = contact_id(shop, cookie="attacker")
    with platform.engine.connect() as conn:
        data = training_data.load(conn, shop.account_id, 36500)
    users_of = {}
    for user, item in zip(data.interactions.user, data.interactions.item, strict=True):
        users_of.setdefault(data.catalog.ids[item], set()).add(int(data.contact_ids[user]))
    assert users_of["P7"] == users_of["P3"] == users_of["P1"] == {victim}  # learned from as the customer
    assert attacker not in set(data.contact_ids.tolist())
    # Serving still reads each contact's own rows.
    recently = shop.datasource(algorithm="recently_viewed", size=10, fallback=[])
    shop.train()
    assert viewed(shop, recently, shop.token(cookie="attacker")) == ["P8", "P7"]


def test_user_es_contact_id_from_a_browser_is_a_claim_too(shop, platform, victim):
    browser(shop, "ProductPage", {"productKey": "P7"}, sc="sneaky", user_es_contact_id=victim)
    sneaky = contact_id(shop, cookie="sneaky")
    assert sneaky != victim
    assert [r.product_id for r in rows(platform, interactions, shop.account_id,
                                       interactions.c.contact_id == victim) if r.product_id == "P7"] == []
    assert [(c.contact_id, c.claimed_id) for c in rows(platform, contact_claims, shop.account_id)] == [
        (sneaky, victim)]


def test_the_mobile_key_only_claims_too(shop, platform, victim):
    key = create_key(shop.platform.engine, shop.account_id, ["mobile"], "app")["api_key"]
    r = shop.client.post("/api/v1/user", headers={"X-Reteno-Access-Key": key}, json={
        "deviceId": "dev-x", "externalUserId": "V-1", "userAttributes": {"email": VICTIM_EMAIL, "firstName": "M"}})
    assert r.status_code == 200, r.text
    device = contact_id(shop, userPseudoId="dev-x")
    assert device != victim
    assert lookup(shop, userPseudoId="dev-x").json()["identifiers"] == {"pseudo_id": ["dev-x"]}
    assert lookup(shop, email=VICTIM_EMAIL).json()["attributes"] == {"firstName": "Vera"}
    assert [(c.contact_id, c.claimed_id) for c in rows(platform, contact_claims, shop.account_id)] == [
        (device, victim)]


# ---- identifiers nobody holds yet -----------------------------------------------------------------

def test_a_claimed_identifier_nobody_holds_names_nobody_for_the_shops_server(shop, platform):
    browser(shop, "CustomerData", {"user_email": "early@shop.test"}, sc="early-bird")
    early = contact_id(shop, cookie="early-bird")
    assert lookup(shop, cookie="early-bird").json()["unverifiedIdentifiers"] == {"email": ["early@shop.test"]}
    r = lookup(shop, email="early@shop.test")
    assert r.status_code == 404  # a claim names nobody
    # The real customer registers: the shop's server names them by that email, and it is theirs.
    shop.token(email="early@shop.test")
    customer = contact_id(shop, email="early@shop.test")
    assert customer != early
    assert lookup(shop, cookie="early-bird").json()["identifiers"] == {"cookie": ["early-bird"]}
    assert [(c.contact_id, c.claimed_id) for c in rows(platform, contact_claims, shop.account_id)] == [
        (early, customer)]


def test_the_shops_server_confirms_a_visitors_own_claim(shop, platform):
    browser(shop, "ProductPage", {"productKey": "P1"}, sc="mine")
    browser(shop, "CustomerData", {"user_email": "me@shop.test"}, sc="mine")
    mine = contact_id(shop, cookie="mine")
    shop.token(email="me@shop.test", cookie="mine")  # after the shop's own login check
    found = lookup(shop, email="me@shop.test").json()
    assert found["id"] == mine and found["identifiers"] == {"cookie": ["mine"], "email": ["me@shop.test"]}
    assert rows(platform, contact_merges, shop.account_id) == []


# ---- verified links, merges and their undoing ------------------------------------------------------

def state(platform, account_id: int, contact: int) -> dict:
    """What a contact owns: identifiers, rows, cart, attributes and whether it stands alone."""
    (row,) = rows(platform, contacts, account_id, contacts.c.id == contact)
    return {
        "identifiers": sorted((r.kind, r.value, r.verified) for r in rows(
            platform, contact_identifiers, account_id, contact_identifiers.c.contact_id == contact)),
        "interactions": sorted(r.id for r in rows(platform, interactions, account_id,
                                                  interactions.c.contact_id == contact)),
        "events": sorted(r.id for r in rows(platform, events, account_id, events.c.contact_id == contact)),
        "orders": sorted(r.order_number for r in rows(platform, orders, account_id, orders.c.contact_id == contact)),
        "cart": [r.lines for r in rows(platform, carts, account_id, carts.c.contact_id == contact)],
        "attributes": row.attributes, "merged_into": row.merged_into,
    }


@pytest.mark.parametrize("link", ["token", "tracker"])
def test_a_verified_link_merges_and_is_recorded(shop, platform, victim, link):
    attack(shop)
    attacker = contact_id(shop, cookie="attacker")
    if link == "token":  # the shop's server, after the customer logged in in that browser
        shop.token(email=VICTIM_EMAIL, cookie="attacker")
    else:  # the shop's server sends the login to the tracker with its API key
        server(shop, "CustomerData", {"user_email": VICTIM_EMAIL}, sc="attacker")
    assert contact_id(shop, cookie="attacker") == victim
    recently = shop.datasource(algorithm="recently_viewed", size=10, fallback=[])
    assert viewed(shop, recently, shop.token(cookie="attacker")) == ["P8", "P7", "P4", "P3"]  # one person now
    merges = shop.client.get(f"/api/v1/contacts/{victim}/merges", headers=shop.auth).json()
    assert [(m["loserId"], m["winnerId"], m["reason"], m["undoneAt"]) for m in merges] == [
        (attacker, victim, f"{'token' if link == 'token' else 'api'}: cookie", None)]


def test_unmerge_restores_both_contacts_exactly(shop, platform, victim):
    attack(shop)
    attacker = contact_id(shop, cookie="attacker")
    before = {c: state(platform, shop.account_id, c) for c in (victim, attacker)}
    shop.token(email=VICTIM_EMAIL, cookie="attacker")
    merged = state(platform, shop.account_id, victim)
    assert set(before[attacker]["interactions"]) < set(merged["interactions"])
    assert merged["attributes"] == {"firstName": "Vera", "user_name": "Mallory"}
    r = shop.client.post(f"/api/v1/contacts/{attacker}/unmerge", headers=shop.auth)
    assert r.status_code == 200, r.text
    assert r.json()["loserId"] == attacker and r.json()["undoneAt"]
    assert {c: state(platform, shop.account_id, c) for c in (victim, attacker)} == before
    again = shop.client.post(f"/api/v1/contacts/merges/{r.json()['id']}/undo", headers=shop.auth)
    assert again.status_code == 400 and "already undone" in again.json()["detail"]
    assert shop.client.post(f"/api/v1/contacts/{attacker}/unmerge", headers=shop.auth).status_code == 404


# ---- export and erase -------------------------------------------------------------------------------

def test_export_returns_everything_about_the_person(shop, platform, victim):
    attack(shop)
    attacker = contact_id(shop, cookie="attacker")
    r = shop.client.get("/api/v1/contacts/export", params={"externalCustomerId": "V-1"}, headers=shop.auth)
    assert r.status_code == 200, r.text
    out = r.json()
    assert shop.client.get(f"/api/v1/contacts/{victim}/export", headers=shop.auth).json() == out
    assert out["contact"]["id"] == victim and out["contact"]["attributes"] == {"firstName": "Vera"}
    assert {(i["kind"], i["value"], i["verified"]) for i in out["identifiers"]} == {
        ("external_id", "V-1", True), ("email", VICTIM_EMAIL, True), ("cookie", "victim-cookie", True)}
    assert [e["type"] for e in out["events"]] == ["PurchasedItems", "ProductPage", "StatusCart"]
    assert sorted(i["productId"] for i in out["interactions"]) == ["P1", "P2", "P3", "P4"]
    assert [o["orderNumber"] for o in out["orders"]] == ["O-1"]
    assert [line["product_id"] for line in out["cart"]] == ["P4"]
    assert out["claims"] == {"made": [], "received": [
        {"contactId": attacker, "claimedId": victim, "createdAt": out["claims"]["received"][0]["createdAt"]}]}
    assert out["merges"] == []
    assert "P7" not in json.dumps(out)  # nothing of the claimant's


def test_erase_forgets_the_person_and_the_next_training_ties_nothing_to_them(shop, platform, victim):
    attack(shop)
    attacker = contact_id(shop, cookie="attacker")
    token = shop.token(email=VICTIM_EMAIL)
    r = shop.client.delete("/api/v1/contacts", params={"email": VICTIM_EMAIL}, headers=shop.auth)
    assert r.status_code == 200 and r.json() == {"id": victim, "erased": True}
    assert lookup(shop, email=VICTIM_EMAIL).status_code == 404
    assert lookup(shop, cookie="victim-cookie").status_code == 404
    assert shop.client.get(f"/api/v1/contacts/{victim}", headers=shop.auth).status_code == 404
    ds = shop.datasource(algorithm="bestsellers")
    assert shop.recoms(ds, token=token).status_code == 401  # its tokens are gone
    for table in (contact_identifiers, events, carts, interactions, orders):
        assert rows(platform, table, shop.account_id, table.c.contact_id == victim) == []
    bought = rows(platform, interactions, shop.account_id, interactions.c.product_id.in_(["P1", "P2"]))
    assert len(bought) == 2 and {(b.contact_id, b.origin_contact_id) for b in bought} == {(None, None)}
    assert rows(platform, contact_claims, shop.account_id) == []
    with platform.engine.connect() as conn:
        data = training_data.load(conn, shop.account_id, 36500)
    assert victim not in set(data.contact_ids.tolist())
    p7 = data.catalog.index["P7"]
    assert {int(data.contact_ids[u]) for u, i in zip(data.interactions.user, data.interactions.item,
                                                      strict=True) if i == p7} == {attacker}
    assert shop.client.delete(f"/api/v1/contacts/{victim}", headers=shop.auth).status_code == 404


def test_erase_by_id_takes_the_contacts_merged_into_it(shop, platform, victim):
    attack(shop)
    attacker = contact_id(shop, cookie="attacker")
    shop.token(email=VICTIM_EMAIL, cookie="attacker")
    r = shop.client.delete(f"/api/v1/contacts/{attacker}", headers=shop.auth)  # a merged id leads home
    assert r.status_code == 200 and r.json()["id"] == victim
    assert rows(platform, contacts, shop.account_id, contacts.c.id.in_([victim, attacker])) == []
    assert rows(platform, contact_merges, shop.account_id) == []
    assert lookup(shop, cookie="attacker").status_code == 404


def test_the_new_routes_need_contacts_manage(shop, victim):
    token_only = basic(create_key(shop.platform.engine, shop.account_id, ["contacts:token"])["api_key"])
    for method, path in (("GET", f"/api/v1/contacts/{victim}/export"), ("GET", "/api/v1/contacts/export"),
                         ("DELETE", f"/api/v1/contacts/{victim}"), ("DELETE", "/api/v1/contacts"),
                         ("GET", f"/api/v1/contacts/{victim}/merges"),
                         ("POST", f"/api/v1/contacts/{victim}/unmerge"), ("POST", "/api/v1/contacts/merges/1/undo")):
        assert shop.client.request(method, path, params={"email": VICTIM_EMAIL}, headers=token_only).status_code == 403
    assert lookup(shop, email=VICTIM_EMAIL).status_code == 200  # nothing was erased


# ---- the CLI ----------------------------------------------------------------------------------------

@pytest.fixture
def run(platform, monkeypatch):
    """`recoms ...` against the test's own store (SQLite or PostgreSQL)."""
    monkeypatch.setenv("RECOMS_DATABASE_URL", platform.settings.database_url)
    monkeypatch.setenv("RECOMS_ARTIFACTS_DIR", str(platform.settings.artifacts_path))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(cli, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield invoke
    get_settings.cache_clear()


def test_cli_export_unmerge_and_erase(shop, platform, victim, run):
    attack(shop)
    attacker = contact_id(shop, cookie="attacker")
    before = {c: state(platform, shop.account_id, c) for c in (victim, attacker)}
    shop.token(email=VICTIM_EMAIL, cookie="attacker")
    account = ("--account", shop.account_id)
    exported = json.loads(run("contact", "export", *account, "--email", VICTIM_EMAIL).stdout)
    assert exported["contact"]["id"] == victim and exported["contact"]["mergedContactIds"] == [attacker]
    assert [(m["loserId"], m["winnerId"]) for m in exported["merges"]] == [(attacker, victim)]
    merges = json.loads(run("contact", "merges", *account, "--cookie", "victim-cookie").stdout)
    assert [m["id"] for m in merges] == [exported["merges"][0]["id"]]
    # By an identifier that came from the merged-away contact: its cookie.
    undone = json.loads(run("contact", "unmerge", *account, "--cookie", "attacker").stdout)
    assert undone["loserId"] == attacker and undone["undoneAt"]
    assert {c: state(platform, shop.account_id, c) for c in (victim, attacker)} == before
    again = run("contact", "unmerge", *account, "--merge-id", undone["id"], ok=False)
    assert again.exit_code == 2 and "already undone" in again.output
    assert json.loads(run("contact", "erase", *account, "--external-id", "V-1").stdout) == {
        "id": victim, "erased": True}
    missing = run("contact", "export", *account, "--email", VICTIM_EMAIL, ok=False)
    assert missing.exit_code == 2 and "no contact" in missing.output
    assert contact_id(shop, cookie="attacker") == attacker  # the claimant is someone else: kept
