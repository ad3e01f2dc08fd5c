"""Cross-sell: complements for a whole cart (the seed's "cross-selling").

Learned from what is bought in the same order, normalised so bestsellers do not crowd the list, and
summed over the cart. The cart's products are never shown, nor (by default) anything from their leaf
categories: a second phone is an alternative, not a complement. That exclusion is the algorithm's own
constraint, so the fallback obeys it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recoms.recommenders import neighbours as nb
from recoms.recommenders.base import PURCHASE, Candidates, Interactions, Items, Query, Recommender, merge_neighbours
from recoms.recommenders.masks import Check, context_leaves, in_leaves


def basket_matrix(interactions: Interactions) -> sp.csr_matrix:
    """orders x items (binary); purchases without an order number count as one order per user and day."""
    bought = interactions.select(interactions.kind == PURCHASE)
    basket = bought.basket.copy()
    loose = basket < 0
    if loose.any():
        day = bought.ts[loose] // 86_400_000
        keys = bought.user[loose].astype(np.int64) * 1_000_000 + day
        _, inverse = np.unique(keys, return_inverse=True)
        basket[loose] = basket.max(initial=-1) + 1 + inverse
    if len(basket) == 0:
        return sp.csr_matrix((0, interactions.n_items), dtype=np.float32)
    m = sp.csr_matrix((np.ones(len(basket), np.float32), (basket, bought.item)),
                      shape=(int(basket.max()) + 1, interactions.n_items))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


class CrossSell(Recommender):
    name = "cross_sell"
    needs = "products"
    default_params: ClassVar[dict[str, Any]] = {
        "exclude_same_category": True,
        "method": "damped",
        "alpha": 0.5,
        "customer_weight": 0.3,  # co-purchases by the same customer in other orders count too
        "neighbours": 100,
    }
    tuning_grid: ClassVar[list[dict[str, Any]]] = [
        {"method": m, "alpha": a, "customer_weight": w}
        for m in ("cosine", "damped") for a in (0.3, 0.5, 0.7) for w in (0.0, 0.3)
        if m == "damped" or a == 0.5
    ]

    def fit(self, interactions: Interactions, items: Items) -> CrossSell:
        self.items = items
        k, method, alpha = int(self.params["neighbours"]), self.params["method"], float(self.params["alpha"])
        baskets = nb.cooccurrence(basket_matrix(interactions), k, method, alpha)
        w = float(self.params["customer_weight"])
        if w > 0:
            customers = nb.cooccurrence(interactions.matrix({PURCHASE: 1.0}, binary=True), k, method, alpha)
            n = items.n
            blended = baskets.to_csr(n) * (1 - w) + customers.to_csr(n) * w
            baskets = nb.Neighbours.from_csr(nb.top_k_per_row(blended, k))
        self.pairs = baskets
        return self

    def state(self) -> dict[str, np.ndarray]:
        return self.pairs.state("pairs")

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> CrossSell:
        self.pairs = nb.Neighbours.from_state(arrays, "pairs")
        self.items = items
        return self

    def constraint(self, query: Query) -> Check | None:
        if self.items is None or not self.params["exclude_same_category"] or len(query.context) == 0:
            return None
        leaves = context_leaves(self.items, query.context)
        return in_leaves(self.items, leaves, inside=False) if len(leaves) else None

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        p = self.pairs
        return [merge_neighbours(p.indptr, p.indices, p.scores, q.context[q.context < p.n]) for q in queries]
