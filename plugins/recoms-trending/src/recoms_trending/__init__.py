"""Trending: the products whose interest grew most in the last days compared with the weeks before.

A recoms plugin: any `Recommender` subclass under the `recoms.algorithms` entry-point group is listed,
accepted in data sources as `{"algorithm": "custom", "params": {"plugin": "trending"}}`, fitted by
`recoms train` and served through the same rules and fallback as the built-ins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recoms.recommenders.base import CART, PURCHASE, VIEW, Candidates, Interactions, Items, Query, Recommender

DAY_MS = 86_400_000
WEIGHTS = {VIEW: 1.0, CART: 3.0, PURCHASE: 5.0}


class Trending(Recommender):
    name = "trending"
    cacheable = True
    default_params: ClassVar[dict[str, Any]] = {"recent_days": 7, "baseline_days": 28, "min_events": 3}

    def fit(self, interactions: Interactions, items: Items) -> Trending:
        self.items = items
        n = interactions.n_items
        end = int(interactions.ts.max()) if len(interactions) else 0
        age_days = (end - interactions.ts) / DAY_MS
        w = np.zeros(len(interactions), np.float32)
        for kind, weight in WEIGHTS.items():
            w[interactions.kind == kind] = weight
        recent_days, baseline_days = float(self.params["recent_days"]), float(self.params["baseline_days"])
        recent = np.bincount(interactions.item[age_days < recent_days], w[age_days < recent_days], n)
        before = (age_days >= recent_days) & (age_days < recent_days + baseline_days)
        earlier = np.bincount(interactions.item[before], w[before], n)
        # Growth of the daily rate, smoothed so one event on an unknown product is not a trend.
        rate_now = recent / recent_days
        rate_before = (earlier + 1.0) / baseline_days
        score = np.where(recent >= float(self.params["min_events"]), rate_now / rate_before, 0.0)
        self.scores = score.astype(np.float32)
        return self

    def state(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Trending:
        self.scores = arrays["scores"]
        self.items = items
        return self

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        ids = np.flatnonzero(self.scores > 0).astype(np.int32)
        return [(ids, self.scores[ids]) for _ in queries]
