"""Recently viewed: the contact's own latest product views, newest first, read at request time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recoms.recommenders.base import CART, EMPTY, VIEW, WISHLIST, Candidates, Interactions, Items, Query, Recommender


class RecentlyViewed(Recommender):
    name = "recently_viewed"
    uses_history = True
    cacheable_without_history = True  # no history: nothing of its own (the fallbacks answer)
    cacheable_with_history = True
    learns = False
    default_params: ClassVar[dict[str, Any]] = {"include_carted": True}

    def fit(self, interactions: Interactions, items: Items) -> RecentlyViewed:
        self.items = items
        return self  # nothing to learn: it reads the contact's live history

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> RecentlyViewed:
        self.items = items
        return self

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        kinds = (VIEW, CART, WISHLIST) if self.params["include_carted"] else (VIEW,)
        out = []
        for q in queries:
            seen = q.history_kinds == kinds[0]
            for kind in kinds[1:]:
                seen |= q.history_kinds == kind
            if not seen.any():
                out.append(EMPTY)
                continue
            items, ts = q.history_items[seen], q.history_ts[seen]
            # Each item once, in the order the history first names it, at its latest time.
            uniq, first, inverse = np.unique(items, return_index=True, return_inverse=True)
            latest = np.full(len(uniq), -1, np.int64)
            np.maximum.at(latest, inverse, ts)
            order = np.argsort(first)
            ids, when = uniq[order].astype(np.int32), latest[order]
            # Newest first: rank by time, as small floats (epoch milliseconds do not fit a float32).
            out.append((ids, (np.argsort(np.argsort(when)) + 1).astype(np.float32)))
        return out
