"""The kind of shop, told by its own data, picks the starting params."""

from __future__ import annotations

from recoms.recommenders.base import PURCHASE
from recoms.training.regime import detect
from tests.training.shops import build, discoverers, rebuyers


def test_customers_who_buy_again_make_a_rebuy_shop():
    regime = detect(rebuyers()[0])
    assert regime.name == "rebuy" and regime.repeat_share > 0.5
    assert regime.defaults("personal")["exclude_purchased"] is False
    assert regime.defaults("personal")["repeat_weight"] > 0.5


def test_customers_who_never_buy_again_make_a_discovery_shop():
    regime = detect(discoverers()[0])
    assert regime.name == "never" and regime.repeat_share == 0.0
    assert regime.defaults("personal") == {"repeat_weight": 0.0}


def test_too_little_data_says_nothing():
    regime = detect(build([(0, 1, 0, PURCHASE, 0), (0, 2, 5, PURCHASE, 1)], 3)[0])
    assert regime.name == "" and regime.defaults("personal") == {}
    assert "too little data" in regime.describe()


def test_orders_entered_in_one_sitting_are_no_sequence():
    # Ratings typed in one go: every "order" a minute after the last. Nothing to learn from their order.
    rows = [(u, (u + j) % 30, 0, PURCHASE, u * 10 + j) for u in range(30) for j in range(5)]
    inter = build(rows, 30)[0]
    inter.ts = inter.ts + (inter.basket % 10) * 60_000
    regime = detect(inter)
    assert regime.bulk and regime.frozen() == {"half_life_days", "half_life_events"}
    assert not detect(rebuyers()[0]).bulk
