"""Also bought: what the buyers of these products also bought (the seed's "potential purchase").

Co-purchases per customer (anything they bought, in any order), normalised so that a bestseller
bought by everybody does not top every list: cosine by default, lift or damped probability by param.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recoms.recommenders import neighbours as nb
from recoms.recommenders.base import PURCHASE, Candidates, Interactions, Items, Query, Recommender, merge_neighbours


class AlsoBought(Recommender):
    name = "also_bought"
    needs = "products"
    default_params: ClassVar[dict[str, Any]] = {"method": "cosine", "neighbours": 50, "alpha": 0.5}

    def fit(self, interactions: Interactions, items: Items) -> AlsoBought:
        self.items = items
        bought = interactions.matrix({PURCHASE: 1.0}, binary=True)
        self.pairs = nb.cooccurrence(
            bought, int(self.params["neighbours"]), self.params["method"], float(self.params["alpha"])
        )
        return self

    def state(self) -> dict[str, np.ndarray]:
        return self.pairs.state("pairs")

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> AlsoBought:
        self.pairs = nb.Neighbours.from_state(arrays, "pairs")
        self.items = items
        return self

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        p = self.pairs
        return [merge_neighbours(p.indptr, p.indices, p.scores, q.context[q.context < p.n]) for q in queries]
