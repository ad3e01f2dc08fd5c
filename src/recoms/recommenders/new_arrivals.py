"""New arrivals: the newest products in the catalog, store-wide or in the asked category."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recoms.recommenders.base import Candidates, Interactions, Items, Query, Recommender


class NewArrivals(Recommender):
    name = "new_arrivals"
    cacheable = True
    learns = False
    default_params: ClassVar[dict[str, Any]] = {"scope": "store", "max_age_days": 90, "candidates": 500}

    def required_context(self) -> str | None:
        return "category" if self.params["scope"] == "category" else None

    def fit(self, interactions: Interactions, items: Items) -> NewArrivals:
        self.items = items
        return self  # the live catalog's creation times are the model

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> NewArrivals:
        self.items = items
        return self

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        items = self.items
        created = items.created_at.astype(np.int64)
        newest = int(created.max()) if items.n else 0
        fresh = created >= newest - int(self.params["max_age_days"]) * 86_400_000
        out = []
        for q in queries:
            mask = fresh
            if self.params["scope"] == "category" or len(q.categories):
                members = np.asarray(items.categories[:, q.categories].sum(axis=1)).ravel() > 0
                mask = mask & members
            ids = np.flatnonzero(mask).astype(np.int32)
            limit = int(self.params["candidates"])
            if len(ids) > limit:
                ids = ids[np.argpartition(-created[ids], limit - 1)[:limit]]
            # Newer is better: days since the oldest candidate, so every score is positive.
            scores = ((created[ids] - created[ids].min(initial=0)) / 86_400_000 + 1).astype(np.float32)
            out.append((ids, scores))
        return out
