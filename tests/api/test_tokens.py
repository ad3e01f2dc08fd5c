"""The mobile flow's token contract (SPEC §2), on every storage backend."""

from __future__ import annotations

import hashlib
import threading
import time

import sqlalchemy as sa

from recoms.store.tables import token_chains
from tests.feeds import gmc_xml

CATALOG = [{"id": f"P{i}", "price": 10 + i, "category": "Home > Kitchen"} for i in range(6)]


def ready_shop(shop) -> int:
    shop.feed(gmc_xml(CATALOG))
    shop.train()
    return shop.datasource(algorithm="bestsellers", size=3)


def test_token_request_returns_opaque_token_stored_only_as_hash(shop, platform):
    token = shop.token(email="Anna@Example.com")
    assert len(token) >= 22 and token.replace("-", "").replace("_", "").isalnum()
    # Stored: the hashes of its chain id and of its secret (one row per chain), never the token or its parts.
    chain, secret = token[:22], token[22:65]
    with platform.engine.connect() as conn:
        rows = conn.execute(sa.select(token_chains).where(token_chains.c.account_id == shop.account_id)).all()
    stored = {value for row in rows for value in row if isinstance(value, str)}
    assert {hashlib.sha256(chain.encode()).hexdigest(), hashlib.sha256(secret.encode()).hexdigest()} <= stored
    assert not any(part in value for value in stored for part in (token, chain, secret))


def test_recoms_rotates_the_token_and_a_replay_revokes_the_chain(shop):
    ds = ready_shop(shop)
    first = shop.token()
    r = shop.recoms(ds, token=first)
    assert r.status_code == 200
    second = r.headers["ES-TOKEN"]
    assert second and second != first
    r = shop.recoms(ds, token=second)
    assert r.status_code == 200
    third = r.headers["ES-TOKEN"]

    replay = shop.recoms(ds, token=first)
    assert replay.status_code == 401
    assert "ES-TOKEN" not in replay.headers
    assert replay.headers["content-type"] == "application/problem+json"
    # The leaked chain is dead: the newest token of it no longer works either.
    assert shop.recoms(ds, token=third).status_code == 401


def test_missing_or_unknown_token_is_401_without_a_new_token(shop):
    ds = ready_shop(shop)
    missing = shop.client.get(f"/api/v1/recoms/{ds}")
    assert missing.status_code == 401 and "ES-TOKEN" not in missing.headers
    unknown = shop.recoms(ds, token="not-a-token")
    assert unknown.status_code == 401 and "ES-TOKEN" not in unknown.headers


def test_errors_after_acceptance_still_carry_the_next_token(shop):
    ds = ready_shop(shop)
    similar = shop.datasource(algorithm="similar")
    r = shop.recoms(similar)  # similar needs products
    assert r.status_code == 400
    assert r.json()["detail"].startswith(f"data source {similar} (similar) needs products")
    next_token = r.headers["ES-TOKEN"]
    r = shop.recoms(999_999, token=next_token)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = shop.recoms(ds, token=r.headers["ES-TOKEN"])
    assert r.status_code == 200


def test_twenty_concurrent_requests_with_one_token_exactly_one_succeeds(shop):
    ds = ready_shop(shop)
    token = shop.token()
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def call() -> None:
        barrier.wait()
        statuses.append(shop.recoms(ds, token=token).status_code)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [401] * 19


def test_token_lifetime_setting_sets_expiry(shop, platform):
    before = int(time.time() * 1000)
    token = shop.token()
    digest = hashlib.sha256(token[:22].encode()).hexdigest()  # the chain's row
    with platform.engine.connect() as conn:
        expires = conn.execute(sa.select(token_chains.c.expires_at).where(token_chains.c.chain_hash == digest)
                               ).scalar_one()
    ttl = platform.settings.token_ttl_seconds * 1000
    assert before + ttl - 5000 <= expires <= before + ttl + 5000


def test_token_endpoint_bad_input(shop, make_shop):
    c = shop.client
    url = "/api/v1/auth/contact/token"
    r = c.post(url, json={}, headers=shop.auth)
    assert r.status_code == 400 and "identifier" in r.json()["detail"]
    r = c.post(url, json={"email": "  "}, headers=shop.auth)
    assert r.status_code == 400
    r = c.post(url, content=b"{not json", headers={**shop.auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    r = c.post(url, json={"email": 42}, headers=shop.auth)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "email"
    r = c.post(url, json={"email": "a@b.c"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    r = c.post(url, json={"email": "a@b.c"}, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401
    basic = make_shop("basic")
    r = c.post(url, json={"email": "a@b.c"}, headers=basic.auth)
    assert r.status_code == 403 and "extra" in r.json()["detail"]


def test_token_endpoint_needs_its_scope(shop):
    r = shop.client.post(
        "/api/v1/apikeys", json={}, headers=shop.auth
    )  # no such route: keys are made by the CLI
    assert r.status_code in (404, 405)
    from recoms.services.accounts import create_key
    from tests.conftest import basic

    limited = create_key(shop.platform.engine, shop.account_id, ["tracking:write"])["api_key"]
    r = shop.client.post("/api/v1/auth/contact/token", json={"email": "a@b.c"}, headers=basic(limited))
    assert r.status_code == 403 and "contacts:token" in r.json()["detail"]


def test_post_form_accepts_a_long_cart(shop):
    ds = ready_shop(shop)
    also = shop.datasource(algorithm="also_bought", size=3)
    cart = [f"unknown-{i}" for i in range(150)] + ["P1"]
    r = shop.client.post(f"/api/v1/recoms/{also}", json={"products": cart}, headers={"ES-TOKEN": shop.token()})
    assert r.status_code == 200, r.text
    assert "P1" not in [p["id"] for p in r.json()]
    assert ds
