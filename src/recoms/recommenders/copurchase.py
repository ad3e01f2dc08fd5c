"""Co-purchase neighbours, shared by also_bought and cross_sell.

Two kinds of togetherness are counted: in the same order (a basket), and by the same customer in any
order. Each item keeps its most frequent partners with their raw counts; the normalisation is applied
at request time, so one fit serves every setting:

    score(j) = Σ_i count(i, j) / (n_i^(1-alpha) · n_j^alpha)

alpha = 0 is the conditional probability P(j | i) summed over the context, 0.5 is the cosine, and
larger values damp popular partners harder. Raw counts (what a naive "bought together" does) weigh a
frequent context product above a rare one and only repeat the bestsellers; measured on Complete
Journey, a small alpha beats them (docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recoms.recommenders import neighbours as nb
from recoms.recommenders.base import (
    EMPTY,
    PURCHASE,
    Candidates,
    Interactions,
    Items,
    Query,
    Recommender,
    merge_neighbours,
    sum_by_item,
)


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


def _counts(m: sp.csr_matrix) -> np.ndarray:
    return np.asarray(m.sum(axis=0)).ravel().astype(np.float32)


class CoPurchase(Recommender):
    needs = "products"
    default_params: ClassVar[dict[str, Any]] = {"alpha": 0.3, "customer_weight": 0.5, "neighbours": 200}
    serving_params: ClassVar[frozenset[str]] = frozenset({"alpha", "customer_weight"})
    tuning_space: ClassVar[dict[str, tuple[Any, ...]]] = {
        "alpha": (0.3, 0.0, 0.15, 0.5), "customer_weight": (0.5, 0.0, 0.3, 0.6),
    }

    def fit(self, interactions: Interactions, items: Items) -> CoPurchase:
        self.items = items
        k = int(self.params["neighbours"])
        baskets = basket_matrix(interactions)
        customers = interactions.matrix({PURCHASE: 1.0}, binary=True)
        self.in_baskets = nb.cooccurrence(baskets, k, "count")
        self.by_customers = nb.cooccurrence(customers, k, "count")
        self.basket_counts = _counts(baskets)
        self.customer_counts = _counts(customers)
        return self

    def state(self) -> dict[str, np.ndarray]:
        return {**self.in_baskets.state("baskets"), **self.by_customers.state("customers"),
                "basket_counts": self.basket_counts, "customer_counts": self.customer_counts, **self.params_state()}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> CoPurchase:
        self.in_baskets = nb.Neighbours.from_state(arrays, "baskets")
        self.by_customers = nb.Neighbours.from_state(arrays, "customers")
        self.basket_counts = arrays["basket_counts"]
        self.customer_counts = arrays["customer_counts"]
        self.adopt_params(arrays)
        self.items = items
        return self

    def _scores(self, pairs: nb.Neighbours, counts: np.ndarray, context: np.ndarray, alpha: float) -> Candidates:
        context = context[context < pairs.n]
        if len(context) == 0:
            return EMPTY
        source = np.maximum(counts[context], 1.0) ** -(1.0 - alpha)
        ids, scores = merge_neighbours(pairs.indptr, pairs.indices, pairs.scores, context, source)
        if len(ids) == 0:
            return EMPTY
        scores = scores * np.maximum(counts[ids], 1.0) ** -alpha
        peak = scores.max()
        return ids, (scores / peak if peak > 0 else scores).astype(np.float32)

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        return next(self.recommend_variants(queries, [{}]))

    def recommend_variants(self, queries: Sequence[Query], points: Sequence[dict[str, Any]],
                           cache: dict[str, Any] | None = None) -> Iterator[list[Candidates]]:
        """Each part is merged once per alpha (and kept in `cache`), then blended per customer weight."""
        cache = {} if cache is None else cache

        def part(kind: str, alpha: float) -> list[Candidates]:
            key = f"copurchase/{kind}/{alpha}"
            if key not in cache:
                pairs, counts = ((self.in_baskets, self.basket_counts) if kind == "baskets"
                                 else (self.by_customers, self.customer_counts))
                cache[key] = [self._scores(pairs, counts, q.context, alpha) for q in queries]
            return cache[key]

        for point in points:
            p = {**self.params, **point}
            alpha, w = float(p["alpha"]), float(p["customer_weight"])
            baskets = part("baskets", alpha)
            customers = part("customers", alpha) if w > 0 else [EMPTY] * len(queries)
            yield [sum_by_item(np.concatenate([b_ids, c_ids]), np.concatenate([b_scores * (1.0 - w), c_scores * w]))
                   if w > 0 else (b_ids, b_scores)
                   for (b_ids, b_scores), (c_ids, c_scores) in zip(baskets, customers, strict=True)]
