"""Similar: alternatives for a product (the seed's "out of stock" selection), SPEC §5.

Two neighbour lists blended: content (TF-IDF of name, brand, category and tags, within the same leaf
category) and co-views (cosine of the visitors who viewed both). The hard constraints — in stock,
same category, price within `min_pct`..`max_pct` of the product's — are the algorithm's own, so the
fallback obeys them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np

from recoms.recommenders import item_lists as il
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

T = TypeVar("T")


class Similar(Recommender):
    name = "similar"
    cacheable = True
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
        self.lists: il.ItemLists | None = None  # computed for the params the snapshot keeps (`state`)
        k = int(self.params["neighbours"])
        browsing = {VIEW: 1.0, CART: 1.0, WISHLIST: 1.0}
        self.coview = nb.shared((interactions,), ("coview", k), lambda: nb.cooccurrence(
            interactions.matrix(browsing), k, "cosine"))
        self.content = nb.shared((items,), ("content", k), lambda: nb.content(items.text, items.leaf_category, k))
        return self

    def state(self) -> dict[str, np.ndarray]:
        return {**self.coview.state("coview"), **self.content.state("content"), **self.answer_lists().state()}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Similar:
        self.coview = nb.Neighbours.from_state(arrays, "coview")
        self.content = nb.Neighbours.from_state(arrays, "content")
        self.lists = il.ItemLists.from_state(arrays)
        self.items = items
        return self

    def answer_lists(self) -> il.ItemLists:
        """Each item's answer to a one-product request (`item_lists`): both lists blended, row by row."""
        scoring = {"content_weight": self.params["content_weight"]}
        lists = getattr(self, "lists", None)
        if lists is None or lists.params != scoring:
            lists = self.lists = self._over_neighbours(
                "lists", scoring["content_weight"], lambda: il.ItemLists.ranked(self.answer_rows(), scoring))
        return lists

    def answer_rows(self) -> il.Rows:
        """`recommend` of every one-product query at once, unranked and whole."""
        w = float(self.params["content_weight"])
        c, v = self.content, self.coview
        return self._over_neighbours("rows", w, lambda: il.add((c.indptr, c.indices, c.scores * w),
                                                               (v.indptr, v.indices, v.scores * (1.0 - w))))

    def _over_neighbours(self, what: str, weight: Any, make: Callable[[], T]) -> T:
        """Computed once for every Similar over the same neighbour lists and weight: similar's and upsell's
        alternatives' in one training (seconds for a large catalogue)."""
        return nb.shared((self.content, self.coview), ("answers", what, weight), make)

    def item_list(self, item: int) -> tuple[np.ndarray, np.ndarray, bool] | None:
        lists = getattr(self, "lists", None)
        if lists is None or not lists.matches(self.params):
            return None
        return lists.row(item)

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
            listed = il.complete_answer(self, q)
            if listed is not None:
                out.append(listed)
                continue
            ctx = q.context[q.context < self.content.n]
            c_ids, c_scores = merge_neighbours(self.content.indptr, self.content.indices, self.content.scores, ctx)
            v_ids, v_scores = merge_neighbours(self.coview.indptr, self.coview.indices, self.coview.scores, ctx)
            merged = sum_by_item(np.concatenate([c_ids, v_ids]), np.concatenate([c_scores * w, v_scores * (1.0 - w)]))
            out.append(merged)
        return out
