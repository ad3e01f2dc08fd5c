"""Bestsellers: what sold most over a window, store-wide or in a category (SPEC §5).

The model keeps daily sales per item (purchases, with carts and views as faint tie-breakers) for the
last `max_window_days`, so a data source can pick its own window at request time without retraining.
The window ends at the data's newest event (the watermark), not the wall clock, so an idle shop still
has bestsellers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recoms.recommenders.base import (
    CART,
    EMPTY,
    PURCHASE,
    VIEW,
    WISHLIST,
    Candidates,
    Interactions,
    Items,
    Query,
    Recommender,
    top_k,
)

DAY_MS = 86_400_000
# A purchase outweighs any number of carts a day could bring; views only break ties.
KIND_WEIGHTS = {PURCHASE: 1.0, CART: 0.02, WISHLIST: 0.01, VIEW: 0.001}
SCOPES = ("store", "category", "context")


class Bestsellers(Recommender):
    name = "bestsellers"
    cacheable = True
    default_params: ClassVar[dict[str, Any]] = {
        "window_days": 21,
        "scope": "store",  # store-wide; "category": the request's category; "context": the context's
        "max_window_days": 90,
        "candidates": 500,
    }

    def required_context(self) -> str | None:
        return "category" if self.params["scope"] == "category" else None

    def fit(self, interactions: Interactions, items: Items) -> Bestsellers:
        self.items = items
        horizon = int(self.params["max_window_days"])
        end = int(interactions.ts.max()) if len(interactions) else 0
        days = (end - interactions.ts) // DAY_MS
        keep = days < horizon
        weights = np.zeros(len(interactions), np.float32)
        for kind, w in KIND_WEIGHTS.items():
            weights[interactions.kind == kind] = w
        keep &= weights > 0
        daily = sp.csr_matrix(
            (weights[keep], (days[keep], interactions.item[keep])), shape=(horizon, interactions.n_items)
        )
        daily.sum_duplicates()
        self.daily = daily
        self.watermark = end
        self._cache: dict[Any, Any] = {}  # per window: sales; top lists (immutable model, shared by views)
        return self

    def state(self) -> dict[str, np.ndarray]:
        d = self.daily
        return {
            "daily_data": d.data, "daily_indices": d.indices, "daily_indptr": d.indptr,
            "daily_shape": np.array(d.shape, np.int64), "watermark": np.array([self.watermark], np.int64),
        }

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Bestsellers:
        shape = tuple(int(x) for x in arrays["daily_shape"])
        self.daily = sp.csr_matrix((arrays["daily_data"], arrays["daily_indices"], arrays["daily_indptr"]), shape)
        self.watermark = int(arrays["watermark"][0])
        self._cache = {}
        self.items = items
        return self

    def scores(self, window_days: int) -> np.ndarray:
        """Sales per item over the window (cached per window; the model is immutable)."""
        window = max(1, min(int(window_days), self.daily.shape[0]))
        if window not in self._cache:
            summed = np.asarray(self.daily[:window].sum(axis=0)).ravel().astype(np.float32)
            self._cache[window] = summed
        return self._cache[window]

    def _store_top(self, window: int) -> Candidates:
        key = ("store", window, int(self.params["candidates"]))
        if key not in self._cache:
            s = self.scores(window)
            ids = np.flatnonzero(s > 0).astype(np.int32)
            self._cache[key] = top_k(ids, s[ids], int(self.params["candidates"]))
        return self._cache[key]

    def _in_categories(self, window: int, cats: np.ndarray) -> Candidates:
        """What sold in any of the categories (at any level): per window and categories, cached (a request
        names one category or a few; the live catalog is fixed for the model's life)."""
        key = ("categories", window, cats.tobytes())
        found = self._cache.get(key)
        if found is None or found[2] is not self.items:
            members = self.items.categories[:, cats]
            ids = np.unique(members.tocoo().row).astype(np.int32)
            s = self.scores(window)
            ids = ids[ids < len(s)]
            ids = ids[s[ids] > 0]
            if len(self._cache) > 4096:
                self._cache.clear()
            found = self._cache[key] = (ids, s[ids], self.items)
        return found[0], found[1]

    def _categories_of(self, query: Query) -> np.ndarray:
        if self.params["scope"] == "context" and len(query.context) and self.items is not None:
            leaf = self.items.leaf_category[query.context[query.context < self.items.n]]
            leaf = leaf[leaf >= 0]
            if len(leaf):
                return np.unique(leaf)
        return query.categories

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        window = int(self.params["window_days"])
        out = []
        for query in queries:
            if self.params["scope"] == "store":
                out.append(self._store_top(window))
                continue
            cats = self._categories_of(query)
            if len(cats) == 0 or self.items is None:
                out.append(EMPTY)
                continue
            out.append(self._in_categories(window, np.asarray(cats, np.int32)))
        return out
