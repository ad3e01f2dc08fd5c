"""Per-item answer lists: a one-product request answered from them gets the full scoring's answer."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from recoms.domain.rules import parse_rules
from recoms.recommenders import item_lists, neighbours
from recoms.recommenders import rules as rules_engine
from recoms.recommenders.base import CART, PURCHASE, VIEW, Interactions, Query
from recoms.recommenders.catalog import Catalog
from recoms.recommenders.registry import get_algorithm
from tests.recommenders.tiny import product

LISTED = ["similar", "also_bought", "cross_sell", "upsell"]
RULES = [
    [],
    [{"type": "show_only", "field": "price", "op": "lt", "values": [40]}],
    [{"type": "do_not_show", "field": "category", "op": "eq", "values": ["Bags"]}],
    [{"type": "relative_price_range", "min_pct": 50, "max_pct": 150}],
]


def shop(seed: int = 0, n_items: int = 40, n_users: int = 80) -> tuple[Catalog, Interactions]:
    """Random browsing and baskets over four leaves, some products out of stock: ties and empty lists too."""
    rng = np.random.default_rng(seed)
    leaves = ["Shoes > Boots", "Shoes > Sandals", "Bags", "Clothing > Socks"]
    products = [product(f"p{i}", leaves[i % 4], float(rng.integers(5, 80)), in_stock=bool(rng.random() > 0.15),
                        name=f"{['Trail', 'City', 'Winter'][i % 3]} item {i % 7}") for i in range(n_items)]
    catalog = Catalog(products)
    rows = []
    for u in range(n_users):
        liked = rng.choice(n_items, 6, replace=False)
        for item in liked[: rng.integers(2, 6)]:
            rows.append((u, item, VIEW, -1))
        if rng.random() < 0.7:
            for item in liked[: rng.integers(1, 4)]:
                rows.append((u, item, CART, -1))
                rows.append((u, item, PURCHASE, u))
    arr = np.array(rows, np.int64)
    ts = 1_700_000_000_000 + np.arange(len(arr)) * 60_000
    inter = Interactions(arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 2].astype(np.int8), ts,
                         np.ones(len(arr), np.float32), arr[:, 3], n_users, n_items)
    return catalog, inter


def served(name: str, catalog: Catalog, inter: Interactions, params: dict | None = None):
    """The model as serving has it: fitted, through its snapshot arrays, loaded (with its lists)."""
    fitted = get_algorithm(name)(**(params or {})).fit(inter, catalog.items)
    return get_algorithm(name)(**(params or {})).load_state(fitted.state(), catalog.items)


@pytest.mark.parametrize("name", LISTED)
@pytest.mark.parametrize("params", [{}, {"alpha": 0.0, "customer_weight": 0.5}, {"content_weight": 0.0},
                                    {"complement_weight": 0.0}, {"complement_weight": 1.0}])
def test_each_list_is_the_full_scoring_of_its_product(name, params):
    cls = get_algorithm(name)
    params = {k: v for k, v in params.items() if k in cls.default_params}
    catalog, inter = shop()
    full = cls(**params).fit(inter, catalog.items)
    loaded = served(name, catalog, inter, params)
    for item in range(catalog.n):
        ids, scores, complete = loaded.item_list(item)
        want_ids, want_scores = full.recommend([Query(context=np.array([item], np.int32))])[0]
        assert complete
        order = np.lexsort((want_ids, -want_scores))
        assert ids.tolist() == want_ids[order].tolist()
        np.testing.assert_allclose(scores, want_scores[order], rtol=1e-6)


@pytest.mark.parametrize("name", LISTED)
@pytest.mark.parametrize("list_size", [200, 3])  # 3: lists cut short, answered from them or scored in full
def test_answers_from_lists_equal_the_full_scorings_answers(name, list_size, monkeypatch):
    monkeypatch.setattr(item_lists, "LIST_SIZE", list_size)
    catalog, inter = shop(seed=1)
    full = get_algorithm(name)().fit(inter, catalog.items)
    loaded = served(name, catalog, inter)
    assert loaded.item_list(0) is not None
    for rules in RULES:
        parsed = parse_rules(rules)
        for item in range(catalog.n):
            for size in (1, 4, 10):
                query = Query(context=np.array([item], np.int32))
                want = rules_engine.recommend(full, [], catalog, query, size, parsed)
                assert rules_engine.recommend(loaded, [], catalog, query, size, parsed) == want


def test_lists_serve_only_the_params_they_were_computed_under():
    catalog, inter = shop()
    loaded = served("also_bought", catalog, inter)
    assert loaded.item_list(1) is not None
    assert loaded.with_params({"alpha": 0.5}).item_list(1) is None  # another alpha: scored in full
    assert loaded.with_params({"alpha": loaded.params["alpha"]}).item_list(1) is not None
    assert loaded.item_list(catalog.n + 5) is None  # a product added after training


def test_a_snapshot_without_lists_scores_in_full():
    catalog, inter = shop()
    arrays = {k: v for k, v in get_algorithm("similar")().fit(inter, catalog.items).state().items()
              if not k.startswith("lists_")}
    old = get_algorithm("similar")().load_state(arrays, catalog.items)
    assert old.item_list(0) is None
    assert len(old.recommend([Query(context=np.array([0], np.int32))])[0][0]) > 0


def test_one_training_computes_each_neighbour_list_once():
    catalog, inter = shop()
    similar = get_algorithm("similar")().fit(inter, catalog.items)
    upsell = get_algorithm("upsell")().fit(inter, catalog.items)
    cross_sell = get_algorithm("cross_sell")().fit(inter, catalog.items)
    assert upsell.alternatives.content is similar.content and upsell.alternatives.coview is similar.coview
    # The alternatives' answers too, under the same weight (not under another).
    assert upsell.alternatives.answer_lists() is similar.answer_lists()
    assert upsell.alternatives.answer_rows() is similar.answer_rows()
    other_weight = get_algorithm("similar")(content_weight=0.2).fit(inter, catalog.items)
    assert other_weight.answer_lists() is not similar.answer_lists()
    assert other_weight.answer_lists().params == {"content_weight": 0.2}
    assert upsell.complements.in_baskets is cross_sell.in_baskets
    _, other = shop(seed=2)  # other data: computed afresh
    assert get_algorithm("similar")().fit(other, catalog.items).coview is not similar.coview
    kept = len(neighbours._shared)
    del other
    gc.collect()
    assert len(neighbours._shared) < kept  # gone with the training's data: a server keeps no old lists


def test_ties_at_the_size_cut_go_to_the_lowest_index():
    catalog, _ = shop()

    class Flat(get_algorithm("bestsellers")):
        def recommend(self, queries):
            ids = np.arange(catalog.n, dtype=np.int32)[::-1].copy()
            return [(ids, np.ones(catalog.n, np.float32))]

    model = Flat().fit(Interactions.empty(0, catalog.n), catalog.items)
    allowed = np.flatnonzero(catalog.recommendable)
    assert rules_engine.recommend(model, [], catalog, Query(), 3) == allowed[:3].tolist()


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, 1e-40, -1e-40, 3.3e38, -3.3e38, np.nan], np.float32)


@pytest.mark.parametrize("seed", range(40))
def test_rows_rank_as_sorting_by_score_descending_then_id(seed):
    """`ranked` sorts by one integer key; the order is numpy's sort by (row, -score, id): ties, -0.0 against
    0.0, infinities, subnormals, NaN last, rows given in id order or not, rows longer than the cut."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 12, int(rng.integers(1, 30)))
    indptr = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    if seed % 2:
        ids = np.concatenate([np.sort(rng.choice(50, n, replace=False)) for n in lengths]).astype(np.int32)
    else:
        ids = rng.integers(0, 20, int(indptr[-1])).astype(np.int32)
    scores = (rng.choice(SPECIAL, len(ids)) if seed % 3 == 0 else
              rng.integers(-3, 4, len(ids)).astype(np.float32) / 2)  # many ties
    size = int(rng.integers(1, 8))
    got = item_lists.ItemLists.ranked((indptr, ids, scores), {}, size)
    for r in range(len(lengths)):
        s, e = indptr[r], indptr[r + 1]
        order = np.lexsort((ids[s:e], -scores[s:e]))[:size]
        g = slice(got.indptr[r], got.indptr[r + 1])
        assert got.ids[g].tolist() == ids[s:e][order].tolist()
        np.testing.assert_array_equal(got.scores[g], scores[s:e][order])
        assert got.complete[r] == (lengths[r] <= size)
