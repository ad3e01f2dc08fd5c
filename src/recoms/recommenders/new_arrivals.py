"""New arrivals: the newest products in the catalog, store-wide or in the asked category."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recoms.recommenders.base import Candidates, Interactions, Items, Query, Recommender, top_k


class NewArrivals(Recommender):
    name = "new_arrivals"
    cacheable = True
    learns = False
    default_params: ClassVar[dict[str, Any]] = {"scope": "store", "max_age_days": 90, "candidates": 500}

    def required_context(self) -> str | None:
        return "category" if self.params["scope"] == "category" else None

    def fit(self, interactions: Interactions, items: Items) -> NewArrivals:
        self.items = items
        self._answers: dict[Any, tuple] = {}  # shared by views: the params are in the keys
        return self  # the live catalog's creation times are the model

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> NewArrivals:
        return self.fit(Interactions.empty(0, items.n), items)

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        out = []
        for q in queries:
            by_category = self.params["scope"] == "category" or len(q.categories)
            out.append(self._answer(np.asarray(q.categories, np.int32) if by_category else None))
        return out

    def _answer(self, categories: np.ndarray | None) -> Candidates:
        """The newest products (in the categories): the same for every request, so cached per params and
        categories (the catalog is fixed for the model's life: a change fits a new one)."""
        answers = self.__dict__.setdefault("_answers", {})
        key = (int(self.params["max_age_days"]), int(self.params["candidates"]),
               None if categories is None else categories.tobytes())
        found = answers.get(key)
        if found is None or found[2] is not self.items:
            if len(answers) > 4096:
                answers.clear()
            found = answers[key] = (*self._newest(categories), self.items)
        return found[0], found[1]

    def _newest(self, categories: np.ndarray | None) -> Candidates:
        items = self.items
        created = items.created_at.astype(np.int64)
        newest = int(created.max()) if items.n else 0
        mask = created >= newest - int(self.params["max_age_days"]) * 86_400_000
        if categories is not None:
            mask = mask & (np.asarray(items.categories[:, categories].sum(axis=1)).ravel() > 0)
        ids = np.flatnonzero(mask).astype(np.int32)
        ids = top_k(ids, created[ids], int(self.params["candidates"]))[0]
        # Newer is better: days since the oldest candidate, so every score is positive.
        scores = ((created[ids] - created[ids].min(initial=0)) / 86_400_000 + 1).astype(np.float32)
        return ids, scores
