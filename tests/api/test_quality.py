"""GET /api/v1/datasources/{id}/quality: what training tuned for the data source, on the shop's own orders."""

from __future__ import annotations

import time

import numpy as np

from recoms.training.train import train_account
from tests.api.test_datasources import assert_problem
from tests.conftest import envelope
from tests.feeds import gmc_xml

DAY = 86_400_000
N_ITEMS = 40


def rebuying_shop(shop, customers: int = 40, orders: int = 4) -> None:
    """Customers who buy their three staples in every weekly order, and one other item each time."""
    shop.feed(gmc_xml([{"id": f"P{i}"} for i in range(N_ITEMS)]))
    rng = np.random.default_rng(0)
    start = int(time.time() * 1000) - 60 * DAY
    events = []
    for c in range(customers):
        staples = rng.choice(N_ITEMS, 3, replace=False)
        for o in range(orders):
            lines = [{"product_id": f"P{int(i)}"} for i in (*staples, rng.integers(N_ITEMS))]
            events.append(envelope("PurchasedItems", {"OrderNumber": f"C{c}-{o}", "Products": lines},
                                   sc=f"customer-{c}", ts=start + o * 7 * DAY + c * 60_000))
    shop.events(events)


def quality(shop, ds_id: int):
    return shop.client.get(f"/api/v1/datasources/{ds_id}/quality", headers=shop.auth)


def train_to_the_end(shop) -> None:
    """Training with all the tuning time it wants (the search ends on its own): no figure hangs on the clock."""
    s = shop.platform.settings
    train_account(shop.platform.engine, s.artifacts_path, shop.account_id, s.training_window_days,
                  tuning_factor=10_000.0)
    shop.platform.serving.invalidate(shop.account_id)


def test_a_data_source_shows_its_tuned_params_and_held_out_figures_next_to_the_baselines(shop):
    rebuying_shop(shop)
    ds = shop.datasource(algorithm="personal")
    before = quality(shop, ds)
    assert before.status_code == 200 and before.json()["status"] == "untrained"
    train_to_the_end(shop)
    r = quality(shop, ds)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["datasource"] == ds and body["algorithm"] == "personal" and body["status"] in {"tuned", "defaults"}
    assert "buy the same items again" in body["regime"]
    assert body["holdout"] == "each contact's last order (40 contacts)"
    assert body["params"]["exclude_purchased"] is False and body["params"]["repeat_weight"] >= 0.5
    held = body["heldOut"]
    assert set(held) == {"served", "popularity", "buy_again"}
    assert all(set(held[k]) == {"hr", "ndcg"} for k in held)
    assert held["served"]["ndcg"] >= held["buy_again"]["ndcg"] > held["popularity"]["ndcg"]


def test_a_data_sources_explicit_params_are_what_it_serves_and_is_scored_with(shop):
    rebuying_shop(shop)
    ds = shop.datasource(algorithm="personal", params={"repeat_weight": 0.0, "exclude_purchased": True})
    train_to_the_end(shop)
    body = quality(shop, ds).json()
    assert body["explicitParams"] == {"repeat_weight": 0.0, "exclude_purchased": True}
    assert body["params"]["repeat_weight"] == 0.0 and body["params"]["exclude_purchased"] is True
    assert body["holdout"].endswith("first-time purchases)")


def test_too_little_data_says_so(shop):
    shop.feed(gmc_xml([{"id": "A"}, {"id": "B"}]))
    shop.events([envelope("PurchasedItems", {"OrderNumber": "O1", "Products": [{"product_id": "A"}]})])
    ds = shop.datasource(algorithm="personal")
    shop.train()
    body = quality(shop, ds).json()
    assert body["status"] == "too little data" and "too little data" in body["note"]
    assert "heldOut" not in body or body["heldOut"] == {}


def test_an_algorithm_without_params_to_tune_says_so(shop):
    shop.feed(gmc_xml([{"id": "A"}]))
    ds = shop.datasource(algorithm="bestsellers")
    shop.train()
    body = quality(shop, ds).json()
    assert body["status"] == "not tuned" and "no params to tune" in body["note"]


def test_another_accounts_data_source_is_not_found(shop, make_shop):
    other = make_shop()
    ds = other.datasource(algorithm="personal")
    assert_problem(quality(shop, ds), 404)
    assert_problem(quality(shop, 999_999), 404)
    assert_problem(shop.client.get(f"/api/v1/datasources/{ds}/quality"), 401)
