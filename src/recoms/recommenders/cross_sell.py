"""Cross-sell: complements for a whole cart (the seed's "cross-selling").

Learned mostly from what is bought in the same order (see `copurchase`), summed over the cart. The
cart's products are never shown, nor (by default) anything from their leaf categories: a second phone
is an alternative, not a complement. That exclusion is the algorithm's own
constraint, so the fallback obeys it too.
"""

from __future__ import annotations

from typing import Any, ClassVar

from recoms.recommenders.base import Query
from recoms.recommenders.copurchase import CoPurchase
from recoms.recommenders.masks import Check, context_leaves, in_leaves


class CrossSell(CoPurchase):
    name = "cross_sell"
    default_params: ClassVar[dict[str, Any]] = {
        **CoPurchase.default_params,
        "customer_weight": 0.0,  # what goes in the same order (best on Complete Journey, docs/quality.md)
        "exclude_same_category": True,
    }
    serving_params: ClassVar[frozenset[str]] = CoPurchase.serving_params | {"exclude_same_category"}

    def constraint(self, query: Query) -> Check | None:
        if self.items is None or not self.params["exclude_same_category"] or len(query.context) == 0:
            return None
        leaves = context_leaves(self.items, query.context)
        return in_leaves(self.items, leaves, inside=False) if len(leaves) else None
