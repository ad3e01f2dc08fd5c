"""personal: a request (one query, scored as vectors) gets exactly its row of a batch (scored as matrices)."""

from __future__ import annotations

import numpy as np
import pytest

from recoms.recommenders.base import CART, PURCHASE, VIEW, WISHLIST, Interactions, Items, Query
from recoms.recommenders.personal import Personal

DAY = 86_400_000
NOW = 1_800_000_000_000


def random_shop(seed: int = 3, n_users: int = 300, n_items: int = 250, n_events: int = 6000):
    rng = np.random.default_rng(seed)
    # Popular items and clusters, so that the item-item weights and the neighbours have structure.
    cluster = rng.integers(0, 12, n_users)
    item = (cluster[rng.integers(0, n_users, n_events)] * 20 + rng.zipf(1.6, n_events)) % n_items
    user = rng.integers(0, n_users, n_events)
    kind = rng.choice(np.array([VIEW, CART, PURCHASE, WISHLIST], np.int8), n_events, p=[0.6, 0.15, 0.2, 0.05])
    ts = NOW - rng.integers(0, 120 * DAY, n_events)
    basket = np.where(kind == PURCHASE, user * 10 + rng.integers(0, 4, n_events), -1)
    inter = Interactions(user.astype(np.int32), item.astype(np.int32), kind, ts.astype(np.int64),
                         np.ones(n_events, np.float32), basket.astype(np.int64), n_users, n_items)
    return inter, Items.bare(n_items)


def queries(inter: Interactions, n: int = 60, seed: int = 5) -> list[Query]:
    rng = np.random.default_rng(seed)
    out = [Query(now_ms=NOW)]  # no history at all
    for u in rng.choice(inter.n_users, n, replace=False):
        mine = np.flatnonzero(inter.user == u)[-200:]
        # Repeated events of one item (views then a purchase) add up: in the history's order.
        extra = rng.choice(mine, min(len(mine), 5)) if len(mine) else mine
        idx = np.concatenate([mine, extra])
        out.append(Query(history_items=inter.item[idx], history_kinds=inter.kind[idx], history_ts=inter.ts[idx],
                         now_ms=NOW))
    return out


SETTINGS = [
    {},
    {"half_life_days": 30.0, "half_life_events": 20.0, "view_weight": 1.0},
    {"exclude_purchased": False, "repeat_weight": 0.6, "propensity_power": 0.5},
    {"exclude_purchased": False, "repeat_weight": 0.8, "neighbour_weight": 0.5, "neighbour_count": 5},
    {"repeat_weight": 0.3, "neighbour_weight": 0.3, "popularity_weight": 0.2, "popularity_half_life_days": 7.0},
    {"discovery": "rp3beta", "popularity_weight": 0.1, "half_life_events": 5.0},
    {"max_ease_items": 100, "neighbours": 30, "repeat_weight": 1.0, "exclude_purchased": False},
]


@pytest.mark.parametrize("params", SETTINGS)
def test_one_query_equals_its_row_of_a_batch(params):
    inter, items = random_shop()
    model = Personal(**params).fit(inter, items)
    qs = queries(inter)
    batch = model.recommend(qs)
    assert sum(len(ids) for ids, _ in batch) > 0
    for q, (ids, scores) in zip(qs, batch, strict=True):
        one_ids, one_scores = model.recommend([q])[0]
        order, one_order = np.argsort(ids), np.argsort(one_ids)
        assert np.array_equal(ids[order], one_ids[one_order])
        assert np.array_equal(scores[order], one_scores[one_order])  # bit for bit: the same answer, ties too
        assert one_ids.dtype == np.int32 and one_scores.dtype == np.float32


def test_a_view_of_other_serving_params_scores_alike():
    inter, items = random_shop(seed=11)
    model = Personal().fit(inter, items).with_params({"repeat_weight": 0.5, "neighbour_weight": 0.5})
    qs = queries(inter, n=20, seed=2)
    for q, (ids, scores) in zip(qs, model.recommend(qs), strict=True):
        one_ids, one_scores = model.recommend([q])[0]
        assert dict(zip(ids.tolist(), scores.tolist(), strict=True)) == dict(
            zip(one_ids.tolist(), one_scores.tolist(), strict=True))


def test_one_query_equals_its_row_with_sparse_ease_weights(monkeypatch):
    from recoms.recommenders import item_models

    monkeypatch.setattr(item_models, "DENSE_LIMIT", 50)  # EASE beyond the dense limit: its strongest weights
    inter, items = random_shop(seed=7)
    model = Personal(neighbours=20, half_life_events=10.0).fit(inter, items)
    assert model.model.sparse is not None
    qs = queries(inter, n=40)
    for q, (ids, scores) in zip(qs, model.recommend(qs), strict=True):
        one_ids, one_scores = model.recommend([q])[0]
        order, one_order = np.argsort(ids), np.argsort(one_ids)
        assert np.array_equal(ids[order], one_ids[one_order])
        assert np.array_equal(scores[order], one_scores[one_order])
