"""Similar: alternatives for a product (the seed's "out of stock" selection), SPEC §5.

Two neighbour lists blended: content (TF-IDF of name, brand, category and tags, within the same leaf
category) and co-views (cosine of the visitors who viewed both). The hard constraints — in stock,
same category, price within `min_pct`..`max_pct` of the product's — are the algorithm's own, so the
fallback obeys them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recoms.recommenders import neighbours as nb
from recoms.recommenders.base import (
    CART,
    VIEW,
    WISHLIST,
    Candidates,
    Interactions,
    Items,
    Query,
    Recommender,
    merge_neighbours,
    sum_by_item,
)
from recoms.recommenders.masks import Check, all_of, context_leaves, in_leaves, price_band


class Similar(Recommender):
    name = "similar"
    needs = "products"
    default_params: ClassVar[dict[str, Any]] = {
        "min_pct": 70.0,
        "max_pct": 130.0,
        "same_category": True,
        "content_weight": 0.5,
        "neighbours": 50,
    }

    def fit(self, interactions: Interactions, items: Items) -> Similar:
        self.items = items
        k = int(self.params["neighbours"])
        browsing = interactions.select(np.isin(interactions.kind, (VIEW, CART, WISHLIST)))
        self.coview = nb.cooccurrence(browsing.matrix({VIEW: 1.0, CART: 1.0, WISHLIST: 1.0}), k, "cosine")
        self.content = nb.content(items.text, items.leaf_category, k)
        return self

    def state(self) -> dict[str, np.ndarray]:
        return {**self.coview.state("coview"), **self.content.state("content")}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Similar:
        self.coview = nb.Neighbours.from_state(arrays, "coview")
        self.content = nb.Neighbours.from_state(arrays, "content")
        self.items = items
        return self

    def constraint(self, query: Query) -> Check | None:
        if self.items is None or len(query.context) == 0:
            return None
        band = price_band(self.items, query.context, self.params["min_pct"], self.params["max_pct"])
        leaves = context_leaves(self.items, query.context)
        same = in_leaves(self.items, leaves) if self.params["same_category"] and len(leaves) else None
        return all_of([band, same])

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        w = float(self.params["content_weight"])
        out = []
        for q in queries:
            ctx = q.context[q.context < self.content.n]
            c_ids, c_scores = merge_neighbours(self.content.indptr, self.content.indices, self.content.scores, ctx)
            v_ids, v_scores = merge_neighbours(self.coview.indptr, self.coview.indices, self.coview.scores, ctx)
            merged = sum_by_item(np.concatenate([c_ids, v_ids]), np.concatenate([c_scores * w, v_scores * (1.0 - w)]))
            out.append(merged)
        return out
