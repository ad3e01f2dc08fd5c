"""Data sources over HTTP (SPEC §5): CRUD, defaults, validation naming the bad field, scope."""

from __future__ import annotations

from typing import Any

import pytest

from recoms.services.accounts import create_key
from tests.conftest import basic, envelope
from tests.feeds import gmc_xml

PROBLEM = "application/problem+json"
URL = "/api/v1/datasources"


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and isinstance(body["detail"], str) and body["detail"]
    return body


# --- CRUD -------------------------------------------------------------------------------------


def test_crud_round_trip(shop):
    c, auth = shop.client, shop.auth
    body = {"name": "Alternatives", "algorithm": "similar", "size": 8, "params": {"min_pct": 80},
            "rules": [{"type": "do_not_show", "field": "brand", "op": "eq", "values": ["Acme"]}],
            "fallback": [{"algorithm": "bestsellers", "params": {"scope": "store"}}]}
    r = c.post(URL, json=body, headers=auth)
    assert r.status_code == 201, r.text
    created = r.json()
    ds_id = created["id"]
    assert isinstance(ds_id, int) and not isinstance(ds_id, bool) and ds_id > 0
    assert created == {"id": ds_id, **body}

    r = c.get(f"{URL}/{ds_id}", headers=auth)
    assert r.status_code == 200 and r.json() == created
    r = c.get(URL, headers=auth)
    assert r.status_code == 200 and r.json() == [created]

    # PUT replaces the whole data source: what the new body leaves out takes its default.
    r = c.put(f"{URL}/{ds_id}", json={"name": "Top", "algorithm": "bestsellers", "size": 3}, headers=auth)
    assert r.status_code == 200, r.text
    replaced = r.json()
    assert replaced["id"] == ds_id
    assert (replaced["name"], replaced["algorithm"], replaced["size"], replaced["params"], replaced["rules"]) == (
        "Top", "bestsellers", 3, {}, [])
    assert c.get(f"{URL}/{ds_id}", headers=auth).json() == replaced

    r = c.delete(f"{URL}/{ds_id}", headers=auth)
    assert r.status_code == 204 and r.content == b""
    assert_problem(c.get(f"{URL}/{ds_id}", headers=auth), 404)
    assert_problem(c.delete(f"{URL}/{ds_id}", headers=auth), 404)
    assert_problem(c.put(f"{URL}/{ds_id}", json={"name": "x", "algorithm": "bestsellers"}, headers=auth), 404)
    assert c.get(URL, headers=auth).json() == []


def test_ids_are_distinct_and_the_list_is_in_creation_order(shop):
    ids = [shop.datasource(algorithm="bestsellers", name=f"ds{i}") for i in range(3)]
    assert len(set(ids)) == 3
    listed = shop.client.get(URL, headers=shop.auth).json()
    assert [d["id"] for d in listed] == sorted(ids) and [d["name"] for d in listed] == ["ds0", "ds1", "ds2"]


def test_unknown_and_non_numeric_ids_are_404_or_422(shop):
    assert_problem(shop.client.get(f"{URL}/999999999", headers=shop.auth), 404)
    r = shop.client.get(f"{URL}/abc", headers=shop.auth)
    assert r.status_code in (404, 422) and r.headers["content-type"] == PROBLEM


def test_defaults(shop):
    r = shop.client.post(URL, json={"name": "d", "algorithm": "bestsellers"}, headers=shop.auth)
    assert r.status_code == 201
    body = r.json()
    assert body["size"] == 10 and body["params"] == {} and body["rules"] == []
    assert body["fallback"] == [{"algorithm": "bestsellers", "params": {"scope": "context"}},
                                {"algorithm": "bestsellers", "params": {"scope": "store"}}]


def test_an_edit_takes_effect_at_the_next_request_and_the_request_never_sets_the_size(shop):
    shop.feed(gmc_xml([{"id": f"P{i}"} for i in range(8)]))
    shop.events([envelope("ProductPage", {"productKey": f"P{i}"}, sc=f"v{i}") for i in range(8)])
    shop.train()
    ds = shop.datasource(algorithm="bestsellers", size=5)
    assert len(shop.recommend_ids(ds, size=50)) == 5
    r = shop.client.put(f"{URL}/{ds}", json={"name": "ds", "algorithm": "bestsellers", "size": 2},
                        headers=shop.auth)
    assert r.status_code == 200
    assert len(shop.recommend_ids(ds, size=50)) == 2
    shop.client.delete(f"{URL}/{ds}", headers=shop.auth)
    assert shop.recoms(ds).status_code == 404


def test_default_fallback_fills_with_context_category_bestsellers_then_store_wide(shop):
    catalog = ([{"id": f"K{i}", "category": "Home > Kitchen"} for i in range(3)]
               + [{"id": f"G{i}", "category": "Garden"} for i in range(3)])
    shop.feed(gmc_xml(catalog))
    sold = {"G0": 9, "G1": 8, "G2": 7, "K2": 3, "K1": 2}  # the garden sells more store-wide
    shop.events([envelope("PurchasedItems", {"OrderNumber": f"{pid}-{n}", "Products": [{"product_id": pid}]},
                          sc=f"buyer-{pid}-{n}")
                 for pid, count in sold.items() for n in range(count)])
    shop.train()
    ds = shop.datasource(algorithm="also_bought", size=5)  # nobody bought anything together
    ids = shop.recommend_ids(ds, products="K0")
    assert ids == ["K2", "K1", "G0", "G1", "G2"]


# --- validation -------------------------------------------------------------------------------

BASE = {"name": "v", "algorithm": "bestsellers"}
SHOW = {"type": "show_only", "field": "brand", "op": "eq", "values": ["Volt"]}

INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown-algorithm", {"algorithm": "magic"}, "algorithm", "magic"),
    ("missing-algorithm", {"algorithm": None}, "algorithm", ""),
    ("missing-name", {"name": ""}, "name", ""),
    ("size-0", {"size": 0}, "size", "1"),
    ("size-101", {"size": 101}, "size", "100"),
    ("size-string", {"size": "5"}, "size", "integer"),
    ("size-bool", {"size": True}, "size", "integer"),
    ("size-float", {"size": 5.5}, "size", "integer"),
    ("params-string", {"params": "window_days=3"}, "params", "object"),
    ("params-array", {"params": [1]}, "params", "object"),
    ("param-unknown", {"params": {"colour": "red"}}, "params.colour", "unknown"),
    ("param-type", {"params": {"window_days": "21"}}, "params.window_days", "number"),
    ("param-negative", {"params": {"window_days": -1}}, "params.window_days", "number"),
    ("param-bool-for-number", {"params": {"window_days": True}}, "params.window_days", "number"),
    ("param-of-similar", {"algorithm": "similar", "params": {"max_pct": "150"}}, "params.max_pct", "number"),
    ("rules-object", {"rules": {"type": "show_only"}}, "rules", "array"),
    ("rules-string", {"rules": "show_only"}, "rules", "array"),
    ("rule-not-object", {"rules": ["brand"]}, "rules[0]", "object"),
    ("rule-unknown-type", {"rules": [{"type": "hide", "field": "brand", "values": ["x"]}]}, "rules[0]", "hide"),
    ("rule-bad-op", {"rules": [SHOW, {**SHOW, "op": "like"}]}, "rules[1]", "op"),
    ("rule-no-values", {"rules": [{**SHOW, "values": []}]}, "rules[0]", "values"),
    ("rule-numeric-op-text", {"rules": [{**SHOW, "field": "price", "op": "lt", "values": ["cheap"]}]}, "rules[0]",
     "number"),
    ("rule-bad-boost", {"rules": [{**SHOW, "type": "show_more", "boost": "big"}]}, "rules[0]", "boost"),
    ("diversity-without-max", {"rules": [{"type": "diversity", "field": "brand"}]}, "rules[0]", "max"),
    ("diversity-max-0", {"rules": [{"type": "diversity", "field": "brand", "max": 0}]}, "rules[0]", "max"),
    ("price-range-min-above-max", {"rules": [{"type": "relative_price_range", "min_pct": 200, "max_pct": 100}]},
     "rules[0]", "min_pct"),
    ("contact-field-bad-mode", {"rules": [{"type": "contact_field", "contact_field": "size", "field": "tags_size",
                                           "mode": "prefer"}]}, "rules[0]", "mode"),
    ("conditional-bad-then", {"rules": [{"type": "conditional", "if": {"field": "category", "values": ["Bags"]},
                                         "then": [{"type": "show_only", "field": "colour", "values": ["red"]}]}]},
     "rules[0].then[0]", "colour"),
    ("conditional-bad-if", {"rules": [{"type": "conditional", "if": {"field": "category", "op": "near",
                                                                     "values": ["x"]}, "then": [SHOW]}]},
     "rules[0].if", "op"),
    ("conditional-empty-then", {"rules": [{"type": "conditional", "if": {"field": "brand", "values": ["x"]},
                                           "then": []}]}, "rules[0]", "then"),
    ("unknown-rule-field", {"rules": [{**SHOW, "field": "colour"}]}, "rules[0]", "colour"),
    ("tags-prefix-alone", {"rules": [{**SHOW, "field": "tags_"}]}, "rules[0]", "tags_"),
    ("too-many-rules", {"rules": [SHOW] * 51}, "rules", "50"),
    ("fallback-bad-algorithm", {"fallback": ["bestsellers", "nonsense"]}, "fallback[1]", "nonsense"),
    ("fallback-first-bad", {"fallback": [{"algorithm": "magic"}]}, "fallback[0]", "magic"),
    ("fallback-not-array", {"fallback": "bestsellers"}, "fallback", "array"),
    ("fallback-bad-param", {"fallback": [{"algorithm": "bestsellers", "params": {"window_days": "x"}}]},
     "fallback[0].params.window_days", "number"),
    ("custom-not-installed", {"algorithm": "custom", "params": {"plugin": "not_installed"}}, "params.plugin",
     "not_installed"),
    ("custom-without-plugin", {"algorithm": "custom"}, "params.plugin", "plugin"),
]


@pytest.mark.parametrize("change, field, says", [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_bodies_are_422_naming_the_bad_field(shop, change, field, says):
    r = shop.client.post(URL, json={**BASE, **change}, headers=shop.auth)
    body = assert_problem(r, 422)
    assert body["title"] == "Validation failed"
    assert set(body) <= {"type", "title", "status", "detail", "message", "errors"}
    error = body["errors"][0]
    assert error["field"] == field, error
    assert says in error["reason"] or says in body["detail"], body
    assert shop.client.get(URL, headers=shop.auth).json() == []  # nothing was created


@pytest.mark.parametrize("change", [
    pytest.param({"rules": {}}, id="rules-empty-object"),
    pytest.param({"rules": 0}, id="rules-zero"),
    pytest.param({"params": []}, id="params-empty-array"),
    pytest.param({"params": ""}, id="params-empty-string"),
    pytest.param({"params": False}, id="params-false"),
])
def test_falsy_values_of_the_wrong_type_are_422(shop, change):
    r = shop.client.post(URL, json={**BASE, **change}, headers=shop.auth)
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == next(iter(change))


def test_a_wrong_type_for_a_boolean_param_says_a_boolean_is_expected(shop):
    r = shop.client.post(URL, json={**BASE, "algorithm": "similar", "params": {"same_category": "yes"}},
                         headers=shop.auth)
    error = assert_problem(r, 422)["errors"][0]
    assert error["field"] == "params.same_category"
    assert "bool" in error["reason"] and "number" not in error["reason"]


def test_valid_rules_round_trip_in_canonical_form(shop):
    rules = [
        {"type": "show_more", "field": "tags_gender", "op": "in", "values": ["f"], "boost": 3.0},
        {"type": "do_not_show", "field": "price", "op": "lt", "values": [5]},
        {"type": "diversity", "field": "brand", "max": 2},
        {"type": "relative_price_range", "min_pct": 100, "max_pct": 300},
        {"type": "contact_field", "contact_field": "size", "field": "tags_size", "mode": "show_only"},
        {"type": "conditional", "if": {"field": "category", "op": "in", "values": ["Bags"]},
         "then": [{"type": "show_only", "field": "category", "op": "in", "values": ["Wallets"]}]},
    ]
    r = shop.client.post(URL, json={**BASE, "rules": rules}, headers=shop.auth)
    assert r.status_code == 201, r.text
    got = r.json()["rules"]
    assert [g["type"] for g in got] == [r["type"] for r in rules]
    assert got[1] == {"type": "do_not_show", "field": "price", "op": "lt", "values": [5.0]}
    assert got[2] == {"type": "diversity", "field": "brand", "max": 2}
    assert got[5]["then"][0]["values"] == ["Wallets"]
    assert shop.client.get(f"{URL}/{r.json()['id']}", headers=shop.auth).json()["rules"] == got


def test_an_invalid_put_changes_nothing(shop):
    ds = shop.datasource(algorithm="bestsellers", size=4)
    r = shop.client.put(f"{URL}/{ds}", json={**BASE, "size": 0}, headers=shop.auth)
    assert assert_problem(r, 422)["errors"][0]["field"] == "size"
    assert shop.client.get(f"{URL}/{ds}", headers=shop.auth).json()["size"] == 4


def test_bodies_that_are_not_a_json_object(shop):
    r = shop.client.post(URL, content=b"{nope", headers={**shop.auth, "Content-Type": "application/json"})
    assert "JSON" in assert_problem(r, 400)["detail"]
    r = shop.client.post(URL, content=b"", headers={**shop.auth, "Content-Type": "application/json"})
    assert_problem(r, 400)
    for body in ([BASE], "bestsellers", 5, True):
        assert_problem(shop.client.post(URL, json=body, headers=shop.auth), 422)


# --- algorithms and scope ---------------------------------------------------------------------


def test_algorithms_are_listed_with_their_params(shop):
    r = shop.client.get(f"{URL}/algorithms", headers=shop.auth)
    assert r.status_code == 200
    by_name = {a["name"]: a for a in r.json()}
    assert {"bestsellers", "similar", "also_bought"} <= set(by_name)
    assert "custom" not in by_name
    assert by_name["bestsellers"]["params"]["window_days"] == 21
    assert by_name["similar"]["needs"] == "products"
    assert by_name["similar"]["params"]["min_pct"] == 70 and by_name["similar"]["params"]["max_pct"] == 130
    assert by_name["also_bought"]["needs"] == "products"
    builtins = {"bestsellers", "similar", "also_bought", "cross_sell", "upsell", "personal", "recently_viewed",
                "new_arrivals"}
    assert all(isinstance(a["params"], dict) and a["plugin"] is (name not in builtins) for name, a in by_name.items())
    assert by_name["trending"]["plugin"] is True  # the example plugin the Makefile installs
    # Every listed algorithm can be used, with its listed params.
    for name, algo in by_name.items():
        body = {"name": name, "algorithm": name, "params": algo["params"]}
        if algo["plugin"]:  # plugins are the "custom" algorithm, named in params
            body = {"name": name, "algorithm": "custom", "params": {"plugin": name, **algo["params"]}}
        r = shop.client.post(URL, json=body, headers=shop.auth)
        assert r.status_code == 201, r.text


def test_a_key_without_the_scope_is_403(shop):
    limited = basic(create_key(shop.platform.engine, shop.account_id, ["tracking:write"])["api_key"])
    ds = shop.datasource(algorithm="bestsellers")
    calls = [
        ("GET", URL, None), ("POST", URL, BASE), ("GET", f"{URL}/algorithms", None),
        ("GET", f"{URL}/{ds}", None), ("PUT", f"{URL}/{ds}", BASE), ("DELETE", f"{URL}/{ds}", None),
    ]
    for method, url, body in calls:
        r = shop.client.request(method, url, json=body, headers=limited)
        assert "datasources:manage" in assert_problem(r, 403)["detail"], (method, url)
        r = shop.client.request(method, url, json=body)
        assert_problem(r, 401)
    assert shop.client.get(f"{URL}/{ds}", headers=shop.auth).status_code == 200  # untouched
    manager = basic(create_key(shop.platform.engine, shop.account_id, ["datasources:manage"])["api_key"])
    assert shop.client.get(URL, headers=manager).status_code == 200
