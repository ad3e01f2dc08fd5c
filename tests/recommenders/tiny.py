"""A hand-made shop held in memory: products and events in, a fitted algorithm under the rules out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recoms.domain.product import Product
from recoms.domain.rules import DEFAULT_FALLBACK, parse_filters, parse_rules
from recoms.recommenders import rules as rules_engine
from recoms.recommenders.base import CART, PURCHASE, VIEW, WISHLIST, Interactions, Query
from recoms.recommenders.catalog import Catalog
from recoms.recommenders.registry import get_algorithm

KINDS = {"view": VIEW, "cart": CART, "purchase": PURCHASE, "wishlist": WISHLIST}
DAY = 86_400_000
NOW = 1_800_000_000_000


def product(pid: str, category: str = "Misc", price: float = 10.0, **extra: Any) -> Product:
    tags = extra.pop("tags", {})
    return Product(id=pid, name=extra.pop("name", f"Product {pid}"), price=price,
                   category=[c.strip() for c in category.split(">")], brand=extra.pop("brand", "Acme"),
                   in_stock=extra.pop("in_stock", True), tags=tags, **extra)


@dataclass
class TinyShop:
    products: list[Product]
    events: list[tuple[str, str, str, int]] = field(default_factory=list)  # (user, product, kind, day)
    orders: dict[int, int] = field(default_factory=dict)

    def add(self, user: str, product_id: str, kind: str = "purchase", day: int = 0, order: str | None = None):
        self.events.append((user, product_id, kind, day, order))
        return self

    def buy_together(self, user: str, *product_ids: str, day: int = 0) -> TinyShop:
        order = f"{user}-{day}-{len(self.events)}"
        for pid in product_ids:
            self.add(user, pid, "purchase", day, order)
        return self

    @property
    def catalog(self) -> Catalog:
        created = [NOW - (len(self.products) - i) * DAY for i in range(len(self.products))]
        return Catalog(self.products, created_at=created)

    def interactions(self, catalog: Catalog) -> Interactions:
        users: dict[str, int] = {}
        baskets: dict[str, int] = {}
        rows = [(users.setdefault(u, len(users)), catalog.index[p], KINDS[k], NOW - (30 - d) * DAY,
                 baskets.setdefault(o, len(baskets)) if o else -1) for u, p, k, d, o in self.events]
        arr = np.array(rows, dtype=np.int64).reshape(-1, 5)
        return Interactions(arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 2].astype(np.int8),
                            arr[:, 3], np.ones(len(arr), np.float32), arr[:, 4], len(users), catalog.n)

    def fit(self, algorithm: str, **params: Any):
        catalog = self.catalog
        model = get_algorithm(algorithm)(**params).fit(self.interactions(catalog), catalog.items)
        return catalog, model

    def recommend(
        self, algorithm: str, products: list[str] = (), categories: list[str] = (), size: int = 5,
        rules: list[dict] | None = None, filters: list[dict] | None = None, params: dict | None = None,
        history: list[tuple[str, str, int]] = (), contact: dict | None = None, fallback: bool = True,
    ) -> list[str]:
        catalog = self.catalog
        inter = self.interactions(catalog)
        model = get_algorithm(algorithm)(**(params or {})).fit(inter, catalog.items)
        bestsellers = get_algorithm("bestsellers")().fit(inter, catalog.items)
        fallbacks = [bestsellers.with_params(s.params) for s in DEFAULT_FALLBACK] if fallback else []
        query = Query(context=catalog.indices(products), categories=catalog.category_codes(categories), now_ms=NOW)
        if history:
            query.history_items = np.array([catalog.index[p] for p, _, _ in history], np.int32)
            query.history_kinds = np.array([KINDS[k] for _, k, _ in history], np.int8)
            query.history_ts = np.array([NOW - (30 - d) * DAY for _, _, d in history], np.int64)
        picked = rules_engine.recommend(model, fallbacks, catalog, query, size, parse_rules(rules or []),
                                        parse_filters(filters or []), contact)
        return [catalog.ids[i] for i in picked]
