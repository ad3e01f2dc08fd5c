"""Answers reused for every visitor (services/answer_cache.py) are the answers a fresh scoring gives, and
nothing of one visitor reaches another: contact rules, histories and A/B variants keep their own."""

from __future__ import annotations

import orjson
import pytest

from recoms.domain import variants
from recoms.services.answer_cache import AnswerCache
from recoms.services.contacts import resolve_contact
from tests.conftest import envelope
from tests.feeds import gmc_xml

URL = "/api/v1/datasources"
PRODUCTS = [{"id": f"P{i}", "price": 10 + 7 * i, "brand": ("Red", "Blue")[i % 2],
             "category": ("Shoes", "Bags")[i % 3 == 0]} for i in range(12)]


@pytest.fixture
def trained(shop):
    shop.feed(gmc_xml(PRODUCTS))
    events = []
    for v in range(8):  # baskets of neighbours: P0-P1-P2, P1-P2-P3, ...
        basket = [f"P{(v + k) % 12}" for k in range(3)]
        events += [envelope("ProductPage", {"productKey": p}, sc=f"v{v}") for p in basket]
        events.append(envelope("PurchasedItems", {"OrderNumber": f"o{v}", "Products": [
            {"product_id": p, "price": 10, "quantity": 1} for p in basket]}, sc=f"v{v}"))
    shop.events(events)
    shop.train()
    return shop


@pytest.fixture
def no_reuse(platform):
    """Turns reuse off for the block of a test (every visitor's answers and returning customers'), and back on."""
    recommendations = platform.recommendations
    held = recommendations.answers, recommendations.contact_answers

    class Off:
        def __enter__(self):
            recommendations.answers = recommendations.contact_answers = AnswerCache(0)

        def __exit__(self, *exc):
            recommendations.answers, recommendations.contact_answers = held

    return Off()


def body(shop, ds: int, token: str | None = None, **params) -> bytes:
    r = shop.recoms(ds, token, **params)
    assert r.status_code == 200, r.text
    return r.content


def test_reused_answers_are_the_answers_of_a_fresh_scoring(trained, no_reuse):
    shop = trained
    sources = {
        name: shop.datasource(algorithm=name, size=5) for name in ("similar", "also_bought", "cross_sell", "upsell")
    } | {
        "bestsellers": shop.datasource(algorithm="bestsellers", size=5),
        "ruled": shop.datasource(algorithm="similar", size=4, rules=[
            {"type": "show_more", "field": "brand", "op": "in", "values": ["Blue"], "boost": 3.0},
            {"type": "diversity", "field": "category", "max": 2}]),
    }
    asks = [{"products": f"P{i}"} for i in (0, 3, 7)] + [
        {"products": "P1,P2"}, {"products": "P4", "filter.include.brand": "Red"},
        {"products": "P4", "filter.exclude.brand": "Red"}, {"category": "Bags", "products": "P5"}]
    fresh = {}
    with no_reuse:
        for name, ds in sources.items():
            for i, ask in enumerate(asks):
                fresh[name, i] = body(shop, ds, **ask)
    for _ in range(2):  # the first pass stores, the second reuses
        for name, ds in sources.items():
            for i, ask in enumerate(asks):
                assert body(shop, ds, **ask) == fresh[name, i], (name, ask)
    # Filters are part of the question: opposite filters are opposite answers.
    best = sources["bestsellers"]
    red = [p["id"] for p in shop.recoms(best, products="P4", **{"filter.include.brand": "Red"}).json()]
    blue = [p["id"] for p in shop.recoms(best, products="P4", **{"filter.exclude.brand": "Red"}).json()]
    assert red and blue and not set(red) & set(blue)


def test_an_edit_or_a_catalog_change_is_answered_at_once(trained, platform):
    shop = trained
    ds = shop.datasource(algorithm="bestsellers", size=5, fallback=[])
    first = shop.recommend_ids(ds)
    assert len(first) == 5
    r = shop.client.put(f"{URL}/{ds}", json={"name": "ds", "algorithm": "bestsellers", "size": 2, "fallback": []},
                        headers=shop.auth)
    assert r.status_code == 200, r.text
    assert shop.recommend_ids(ds) == first[:2]
    shop.events([envelope("ProductPage", {"productKey": first[0], "isInStock": 0})])  # sold out
    platform.serving.refresh()
    assert first[0] not in shop.recommend_ids(ds)


def test_a_contacts_fields_and_history_stay_theirs(trained):
    shop = trained
    ruled = shop.datasource(algorithm="bestsellers", size=6, fallback=[], rules=[
        {"type": "contact_field", "contact_field": "firstName", "field": "brand", "mode": "show_only"}])
    answers = {}
    for name in ("Red", "Blue"):
        r = shop.client.post("/api/v1/contact", json={"externalCustomerId": f"c-{name}", "firstName": name},
                             headers=shop.auth)
        assert r.status_code < 400, r.text
        for _ in range(2):  # asked twice: the second could only be a reused answer
            ids = [p["id"] for p in shop.recoms(ruled, shop.token(externalCustomerId=f"c-{name}")).json()]
            brands = {p["brand"] for p in PRODUCTS if p["id"] in ids}
            assert ids and brands == {name}, (name, ids)
            answers.setdefault(name, ids)
    assert answers["Red"] != answers["Blue"]
    seen = shop.datasource(algorithm="recently_viewed", size=3, fallback=[])
    for visitor, product in (("h1", "P3"), ("h2", "P8")):
        token = shop.token(externalCustomerId=visitor)
        shop.events([envelope("ProductPage", {"productKey": product}, sc=f"{visitor}-cookie",
                              externalCustomerId=visitor)])
        r = shop.recoms(seen, token)
        assert r.status_code == 200, r.text
        assert [p["id"] for p in r.json()] == [product], visitor


def test_each_ab_variant_answers_with_its_own_configuration(trained, platform):
    shop = trained
    r = shop.client.post(URL, json={"name": "ab", "algorithm": "bestsellers", "size": 4, "fallback": [],
                                    "variants": [{"share": 50, "algorithm": "new_arrivals"}]}, headers=shop.auth)
    assert r.status_code == 201, r.text
    ds_id = r.json()["id"]
    ds = platform.datasources.get(shop.account_id, ds_id)
    by_variant: dict[int, set[tuple[str, ...]]] = {}
    for i in range(40):
        external = f"ab-{i}"
        token = shop.token(externalCustomerId=external)
        contact = resolve_contact(platform.engine, shop.account_id, {"external_id": external}, False)
        variant = variants.choose(ds, contact).id
        ids = tuple(p["id"] for p in shop.recoms(ds_id, token).json())
        by_variant.setdefault(variant, set()).add(ids)
    assert set(by_variant) == {0, 1}
    # Each arm gives all its contacts one answer, and the two arms' answers differ.
    assert all(len(answers) == 1 for answers in by_variant.values()), by_variant
    assert by_variant[0] != by_variant[1]



def test_visitors_without_history_share_an_answer_until_they_have_one(trained, platform, no_reuse):
    """personal and recently viewed answer a new visitor as anyone (their popularity prior, their fallbacks):
    that answer is reused, and a visitor's first event makes their next answer their own."""
    shop = trained
    personal = shop.datasource(algorithm="personal", size=5)
    seen = shop.datasource(algorithm="recently_viewed", size=3, fallback=[{"algorithm": "bestsellers"}])
    with no_reuse:
        fresh = {ds: body(shop, ds, shop.token(externalCustomerId=f"fresh-{ds}")) for ds in (personal, seen)}
    hits_before = len(platform.recommendations.answers._by_account.get(shop.account_id, (None, {}))[1])
    for visitor in ("n1", "n2", "n3"):
        for ds in (personal, seen):
            assert body(shop, ds, shop.token(externalCustomerId=f"{visitor}-{ds}")) == fresh[ds], (visitor, ds)
    stored = platform.recommendations.answers._by_account[shop.account_id][1]
    assert len(stored) == hits_before + 2  # one answer each, reused by every new visitor
    token = shop.token(externalCustomerId="n1-seen")
    shop.events([envelope("ProductPage", {"productKey": "P9"}, sc="n1-cookie", externalCustomerId="n1-seen")])
    ids = [p["id"] for p in shop.recoms(seen, token).json()]
    assert ids[0] == "P9" and ids != [p["id"] for p in orjson.loads(fresh[seen])]  # their own view comes first
    token = shop.token(externalCustomerId="n1-personal")
    shop.events([envelope("PurchasedItems", {"OrderNumber": "n1", "Products": [
        {"product_id": "P0", "price": 10, "quantity": 1}]}, sc="n1p-cookie", externalCustomerId="n1-personal")])
    with no_reuse:
        own = body(shop, personal, token)
    assert own != fresh[personal]  # a purchase moves the personal answer (the test shop's baskets)
    assert body(shop, personal, shop.token(externalCustomerId="n1-personal")) == own


def test_a_returning_customers_answer_is_reused_until_their_history_changes(trained, platform, no_reuse):
    """personal and recently viewed answer a returning customer from their history: the answer is kept
    for them, and each change of that history (a new event, a cancelled order, a merge and its undoing)
    is answered at once, as a fresh scoring answers it."""
    shop = trained
    personal = shop.datasource(algorithm="personal", size=5)
    seen = shop.datasource(algorithm="recently_viewed", size=5, fallback=[])
    kept = platform.recommendations.contact_answers

    def ask(ds: int) -> bytes:
        return body(shop, ds, shop.token(externalCustomerId="r1"))

    def as_fresh() -> dict[int, bytes]:
        """Each answer as reuse gives it (asked twice: the second is the kept one) and as a fresh scoring."""
        with no_reuse:
            fresh = {ds: ask(ds) for ds in (personal, seen)}
        for ds in (personal, seen):
            assert ask(ds) == ask(ds) == fresh[ds], ds
        return {ds: orjson.loads(answer) for ds, answer in fresh.items()}

    def event(name: str, payload: dict, sc: str = "r1-cookie", **ids: str) -> None:
        shop.events([envelope(name, payload, sc=sc, **(ids or {"externalCustomerId": "r1"}))])

    event("ProductPage", {"productKey": "P3"})
    event("PurchasedItems", {"OrderNumber": "r1-o1", "Products": [{"product_id": "P0", "price": 10, "quantity": 1}]})
    before = len(kept._by_account.get(shop.account_id, (None, {}))[1])
    first = as_fresh()
    assert [p["id"] for p in first[seen]] == ["P3"]
    assert len(kept._by_account[shop.account_id][1]) == before + 2  # one answer each, kept for them

    event("ProductPage", {"productKey": "P7"})  # a new view: first in their recently viewed at once
    assert [p["id"] for p in as_fresh()[seen]] == ["P7", "P3"]
    for _ in range(2):  # the shop's server asking for them (v2) reads their mark itself
        r = shop.client.get(f"/api/v2/contacts/recoms/{seen}", params={"externalCustomerId": "r1"}, headers=shop.auth)
        assert r.status_code == 200 and [p["id"] for p in r.json()] == ["P7", "P3"], r.text
    event("ProductPage", {"productKey": "P8"})
    r = shop.client.get(f"/api/v2/contacts/recoms/{seen}", params={"externalCustomerId": "r1"}, headers=shop.auth)
    assert [p["id"] for p in r.json()] == ["P8", "P7", "P3"], r.text

    bought = as_fresh()[personal]
    # A cancelled order is no longer a purchase: personal answers without it.
    r = shop.client.post("/api/v1/mobile/events", params={"siteId": shop.site_id}, json=[
        {"eventName": "orderCancelled", "userPseudoId": "r1-app", "params": {"orderNumber": "r1-o1"}}])
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert as_fresh()[personal] != bought

    # Another visitor's views join theirs when a login names both (a merge), and leave when it is undone.
    event("ProductPage", {"productKey": "P10"}, sc="r2-cookie", user_email="r2@shop.test")
    shop.token(externalCustomerId="r1", email="r2@shop.test")
    assert [p["id"] for p in as_fresh()[seen]] == ["P10", "P8", "P7", "P3"]
    r1 = shop.client.get("/api/v1/contacts", params={"externalCustomerId": "r1"}, headers=shop.auth).json()
    merges = shop.client.get(f"/api/v1/contacts/{r1['id']}/merges", headers=shop.auth).json()
    joined = [m for m in merges if m["winnerId"] == r1["id"] and m["undoneAt"] is None]
    assert len(joined) == 1, merges
    r = shop.client.post(f"/api/v1/contacts/merges/{joined[0]['id']}/undo", headers=shop.auth)
    assert r.status_code == 200, r.text
    assert [p["id"] for p in as_fresh()[seen]] == ["P8", "P7", "P3"]
