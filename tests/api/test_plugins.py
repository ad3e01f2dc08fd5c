"""A custom algorithm plugin installed from the repo (plugins/recoms-trending) is listed, selectable, served."""

from __future__ import annotations

from tests.conftest import envelope
from tests.feeds import gmc_xml

DAY = 86_400_000
NOW = 1_790_000_000_000


def test_the_trending_plugin_is_listed_selectable_and_served(shop):
    listed = {a["name"]: a for a in shop.client.get("/api/v1/datasources/algorithms", headers=shop.auth).json()}
    assert listed["trending"]["plugin"] is True and "recent_days" in listed["trending"]["params"]

    shop.feed(gmc_xml([{"id": p} for p in ("steady", "rising", "quiet")]))
    events = []
    for day in range(30):  # steady sells every day; rising only lately, and more and more
        events.append(envelope("ProductPage", {"productKey": "steady"}, sc=f"s{day}", ts=NOW - (30 - day) * DAY))
        if day >= 25:
            events += [envelope("ProductPage", {"productKey": "rising"}, sc=f"r{day}-{i}",
                                ts=NOW - (30 - day) * DAY) for i in range(day - 23)]
    shop.events(events)
    shop.train()
    ds = shop.datasource(algorithm="custom", params={"plugin": "trending", "recent_days": 7}, size=2, fallback=[])
    assert shop.recommend_ids(ds) == ["rising", "steady"]


def test_an_unknown_plugin_is_refused_when_saved(shop):
    r = shop.client.post("/api/v1/datasources", json={"name": "x", "algorithm": "custom",
                                                     "params": {"plugin": "nope"}}, headers=shop.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "params.plugin"
