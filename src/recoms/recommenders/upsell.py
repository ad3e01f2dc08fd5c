"""Upsell: pricier alternatives and complements (the seed's "upselling").

Candidates are the product's alternatives (similar) and what is bought with it (also_bought); only
those priced above it, within `min_pct`..`max_pct` of its price, qualify. That band is the algorithm's
own constraint, so a short list is filled by the fallback inside the same band, or stays short.
A one-product request is answered from a precomputed list (`item_lists`): both parts' whole rows, each
scaled by its peak and blended, ranked; the band applies to the list as a vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recoms.recommenders import item_lists as il
from recoms.recommenders.also_bought import AlsoBought
from recoms.recommenders.base import Candidates, Interactions, Items, Query, Recommender, sum_by_item
from recoms.recommenders.masks import Check, context_prices
from recoms.recommenders.similar import Similar


class Upsell(Recommender):
    name = "upsell"
    cacheable = True
    needs = "products"
    default_params: ClassVar[dict[str, Any]] = {
        "min_pct": 100.0,  # strictly above the product's price
        "max_pct": 300.0,
        "complement_weight": 0.4,
    }

    def fit(self, interactions: Interactions, items: Items) -> Upsell:
        self.items = items
        self.alternatives = Similar(max_pct=10_000.0).fit(interactions, items)
        self.complements = AlsoBought().fit(interactions, items)
        self.lists: il.ItemLists | None = None  # computed for the params the snapshot keeps (`state`)
        return self

    def state(self) -> dict[str, np.ndarray]:
        return {**{f"alt_{k}": v for k, v in self.alternatives.state().items()},
                **{f"comp_{k}": v for k, v in self.complements.state().items()}, **self.answer_lists().state()}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Upsell:
        self.alternatives = Similar().load_state({k[4:]: v for k, v in arrays.items() if k.startswith("alt_")}, items)
        self.complements = AlsoBought().load_state(
            {k[5:]: v for k, v in arrays.items() if k.startswith("comp_")}, items)
        self.lists = il.ItemLists.from_state(arrays)
        self.items = items
        return self

    def answer_lists(self) -> il.ItemLists:
        """Each item's answer to a one-product request (`item_lists`) under the current complement weight."""
        scoring = {"complement_weight": self.params["complement_weight"]}
        lists = getattr(self, "lists", None)
        if lists is None or lists.params != scoring:
            lists = self.lists = il.ItemLists.ranked(self.answer_rows(), scoring)
        return lists

    def answer_rows(self) -> il.Rows:
        """`recommend` of every one-product query at once: the same float32 operations, row by row."""
        w = float(self.params["complement_weight"])
        a = il.scale_rows_by_peak(self.alternatives.answer_rows())
        c = il.scale_rows_by_peak(self.complements.answer_rows())
        return il.add((a[0], a[1], a[2] * (1 - w)), (c[0], c[1], c[2] * w))

    def item_list(self, item: int) -> tuple[np.ndarray, np.ndarray, bool] | None:
        lists = getattr(self, "lists", None)
        if lists is None or not lists.matches(self.params):
            return None
        return lists.row(item)

    def bind(self, items: Items) -> Upsell:
        self.alternatives.bind(items)
        self.complements.bind(items)
        self.items = items
        return self

    def constraint(self, query: Query) -> Check | None:
        if self.items is None:
            return None
        prices = context_prices(self.items, query.context)
        if len(prices) == 0:
            return None
        # Above the dearest context product, within max_pct of the cheapest: pricier than all of them.
        low = prices.max() * self.params["min_pct"] / 100.0 + 1e-6
        high = prices.min() * self.params["max_pct"] / 100.0 + 1e-6
        price = self.items.price
        return lambda ids: (price[ids] > low) & (price[ids] <= high)

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        w = float(self.params["complement_weight"])
        out = []
        for (a_ids, a_s), (c_ids, c_s) in zip(self.alternatives.recommend(queries),
                                              self.complements.recommend(queries), strict=True):
            a_s = a_s / a_s.max() if len(a_s) and a_s.max() > 0 else a_s
            c_s = c_s / c_s.max() if len(c_s) and c_s.max() > 0 else c_s
            out.append(sum_by_item(np.concatenate([a_ids, c_ids]), np.concatenate([a_s * (1 - w), c_s * w])))
        return out
