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

from recoms.recommenders import item_lists as il
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


def _pairs(m: sp.csr_matrix, k: int) -> tuple[nb.Neighbours, np.ndarray]:
    """Each item's k most frequent partners (raw counts) and how often each item occurs."""
    return nb.cooccurrence(m, k, "count"), np.asarray(m.sum(axis=0)).ravel().astype(np.float32)


class CoPurchase(Recommender):
    needs = "products"
    cacheable = True
    default_params: ClassVar[dict[str, Any]] = {"alpha": 0.3, "customer_weight": 0.5, "neighbours": 200}
    serving_params: ClassVar[frozenset[str]] = frozenset({"alpha", "customer_weight"})
    tuning_space: ClassVar[dict[str, tuple[Any, ...]]] = {
        "alpha": (0.3, 0.0, 0.15, 0.5), "customer_weight": (0.5, 0.0, 0.3, 0.6),
    }

    def fit(self, interactions: Interactions, items: Items) -> CoPurchase:
        self.items = items
        self.lists: il.ItemLists | None = None  # computed for the params the snapshot keeps (`state`)
        k = int(self.params["neighbours"])
        self.in_baskets, self.basket_counts = nb.shared((interactions,), ("baskets", k), lambda: _pairs(
            basket_matrix(interactions), k))
        self.by_customers, self.customer_counts = nb.shared((interactions,), ("customers", k), lambda: _pairs(
            interactions.matrix({PURCHASE: 1.0}, binary=True), k))
        return self

    def state(self) -> dict[str, np.ndarray]:
        return {**self.in_baskets.state("baskets"), **self.by_customers.state("customers"),
                "basket_counts": self.basket_counts, "customer_counts": self.customer_counts, **self.params_state(),
                **self.answer_lists().state()}

    def answer_lists(self) -> il.ItemLists:
        """Each item's answer to a one-product request under the current params (`item_lists`)."""
        scoring = {k: self.params[k] for k in ("alpha", "customer_weight")}
        lists = getattr(self, "lists", None)
        if lists is None or lists.params != scoring:
            lists = self.lists = il.ItemLists.ranked(self.answer_rows(), scoring)
        return lists

    def answer_rows(self) -> il.Rows:
        """`recommend` of every one-product query at once, unranked and whole."""
        alpha, w = float(self.params["alpha"]), float(self.params["customer_weight"])
        rows = self._list_part(self.in_baskets, self.basket_counts, alpha)
        if w > 0:
            customers = self._list_part(self.by_customers, self.customer_counts, alpha)
            rows = il.add((rows[0], rows[1], rows[2] * (1.0 - w)), (customers[0], customers[1], customers[2] * w))
        return rows

    @staticmethod
    def _list_part(pairs: nb.Neighbours, counts: np.ndarray, alpha: float) -> il.Rows:
        """`_scores` of every one-item context at once: the same float32 operations, row by row."""
        source = np.maximum(counts, 1.0) ** -(1.0 - alpha)
        rows = il.row_numbers(pairs.indptr)
        scores = pairs.scores * source[rows]
        scores = scores * np.maximum(counts[pairs.indices], 1.0) ** -alpha
        return il.scale_rows_by_peak((pairs.indptr, pairs.indices, scores))

    def item_list(self, item: int) -> tuple[np.ndarray, np.ndarray, bool] | None:
        lists = getattr(self, "lists", None)
        if lists is None or not lists.matches(self.params):
            return None
        return lists.row(item)

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> CoPurchase:
        self.in_baskets = nb.Neighbours.from_state(arrays, "baskets")
        self.by_customers = nb.Neighbours.from_state(arrays, "customers")
        self.basket_counts = arrays["basket_counts"]
        self.customer_counts = arrays["customer_counts"]
        self.adopt_params(arrays)
        self.lists = il.ItemLists.from_state(arrays)
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
        listed = [il.complete_answer(self, q) for q in queries]
        if all(answer is not None for answer in listed):
            return listed  # type: ignore[return-value]
        scored = next(self.recommend_variants(queries, [{}]))
        return [answer if answer is not None else full for answer, full in zip(listed, scored, strict=True)]

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
