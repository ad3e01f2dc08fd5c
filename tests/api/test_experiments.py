"""A/B variants of a data source over the API: saved and shown as sent, ids kept, the experiment's start
kept across edits, bad variants named, and ending an experiment promotes a variant."""

from __future__ import annotations

URL = "/api/v1/datasources"


def create(shop, **body) -> dict:
    r = shop.client.post(URL, json={"name": "ds", "algorithm": "bestsellers", **body}, headers=shop.auth)
    assert r.status_code == 201, r.text
    return r.json()


def test_variants_round_trip_with_their_ids_and_the_experiments_start(shop):
    created = create(shop, size=5, variants=[{"name": "Fresh", "share": 25, "algorithm": "new_arrivals"},
                                             {"share": 25, "size": 3}])
    assert created["variants"] == [{"id": 1, "name": "Fresh", "share": 25, "algorithm": "new_arrivals"},
                                   {"id": 2, "name": "C", "share": 25, "size": 3}]
    started = created["experiment"]["startedAt"]
    assert started > 0 and created["experiment"]["controlShare"] == 50
    # Editing keeps the experiment (and its assignment); a variant dropped leaves its id unused.
    body = {k: v for k, v in created.items() if k not in ("id", "experiment")}
    body["variants"] = [created["variants"][0], {"share": 10}]
    r = shop.client.put(f"{URL}/{created['id']}", json=body, headers=shop.auth)
    assert r.status_code == 200, r.text
    edited = r.json()
    assert [v["id"] for v in edited["variants"]] == [1, 3] and edited["experiment"]["startedAt"] == started
    assert shop.client.get(f"{URL}/{created['id']}", headers=shop.auth).json() == edited


def test_bad_variants_are_422_naming_the_field(shop):
    for variants, field in (([{"share": 60}, {"share": 60}], "variants"), ([{"share": 10, "size": 500}],
                            "variants[0].size"), ([{}], "variants[0].share")):
        r = shop.client.post(URL, json={"name": "d", "algorithm": "bestsellers", "variants": variants},
                             headers=shop.auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


def test_ending_the_experiment_promotes_a_variant_and_keeps_its_history(shop):
    ds = create(shop, size=5, rules=[{"type": "diversity", "field": "brand", "max": 2}],
                variants=[{"name": "Fresh", "share": 50, "algorithm": "new_arrivals", "size": 4}])
    r = shop.client.post(f"{URL}/{ds['id']}/variants/9/promote", headers=shop.auth)
    assert r.status_code == 404 and "no variant 9" in r.json()["detail"]
    r = shop.client.post(f"{URL}/{ds['id']}/variants/1/promote", headers=shop.auth)
    assert r.status_code == 200, r.text
    promoted = r.json()
    assert (promoted["name"], promoted["algorithm"], promoted["size"]) == ("ds", "new_arrivals", 4)
    assert promoted["rules"] == ds["rules"] and "variants" not in promoted and "experiment" not in promoted
    history = shop.client.get(f"{URL}/{ds['id']}/experiments", headers=shop.auth).json()
    assert len(history) == 1 and history[0]["winner"] == 1
    assert [(v["id"], v["name"], v["algorithm"]) for v in history[0]["variants"]] == [
        (0, "A", "bestsellers"), (1, "Fresh", "new_arrivals")]
    r = shop.client.post(f"{URL}/{ds['id']}/variants/0/promote", headers=shop.auth)
    assert r.status_code == 422 and "no experiment" in r.json()["detail"]
    # A new experiment numbers its variants after the old ones and starts afresh.
    body = {k: v for k, v in promoted.items() if k != "id"}
    again = shop.client.put(f"{URL}/{ds['id']}", json={**body, "variants": [{"share": 10}]}, headers=shop.auth).json()
    assert again["variants"][0]["id"] == 2 and again["experiment"]["startedAt"] >= history[0]["endedAt"]
    assert shop.client.post(f"{URL}/999999/variants/0/promote", headers=shop.auth).status_code == 404
