"""The catalog as arrays aligned with item indices: what scoring, rules and serialisation read.

Index order is the snapshot's item order, then products added since (appended), so a model trained
on an older catalog stays valid: its indices are a prefix of the live ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from recoms.domain.product import Product
from recoms.recommenders.base import Items

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


class Catalog:
    """Immutable once built; a change builds a new one (serving swaps it atomically)."""

    def __init__(
        self, products: Sequence[Product], available: Sequence[bool] | None = None,
        created_at: Sequence[int] | None = None, fragments: bool = True,
    ) -> None:
        self.products = list(products)
        self.ids = [p.id for p in self.products]
        self.index = {pid: i for i, pid in enumerate(self.ids)}
        n = len(self.products)
        self.n = n
        self.available = np.asarray(available if available is not None else np.ones(n, bool), bool)
        self.created_at = np.asarray(created_at if created_at is not None else np.zeros(n), np.int64)
        self.items = build_items(self.products, self.created_at)
        # Serving-ready JSON per product: the response is a join of these bytes (training needs none).
        self.fragments = [p.to_json() for p in self.products] if fragments else []
        self._columns: dict[str, np.ndarray] = {}
        self._numeric: dict[str, np.ndarray] = {}

    @classmethod
    def ordered(
        cls, rows: Iterable[tuple[Product, bool, int]], order: Sequence[str] = (), fragments: bool = True,
    ) -> Catalog:
        """Products in `order` first (the snapshot's ids), then the rest by id."""
        by_id = {p.id: (p, avail, created) for p, avail, created in rows}
        # A snapshot item no longer in the catalog keeps its slot as an unavailable placeholder.
        seq = [by_id.pop(pid, None) or (Product(id=pid, in_stock=False), False, 0) for pid in order]
        seq.extend(by_id[pid] for pid in sorted(by_id))
        return cls([s[0] for s in seq], [s[1] for s in seq], [s[2] for s in seq], fragments)

    @cached_property
    def recommendable(self) -> np.ndarray:
        """Available and in stock: the default hard filter."""
        return self.available & self.items.in_stock

    def indices(self, product_ids: Iterable[str]) -> np.ndarray:
        """Known ids -> indices, unknown ones dropped (SPEC: ignored, not errors); order kept, no repeats."""
        seen: dict[int, None] = {}
        for pid in product_ids:
            i = self.index.get(pid)
            if i is not None:
                seen.setdefault(i)
        return np.fromiter(seen, np.int32, len(seen))

    def category_codes(self, names: Iterable[str]) -> np.ndarray:
        lookup = self.category_lookup
        codes = {lookup[n.strip().lower()] for n in names if n.strip().lower() in lookup}
        return np.array(sorted(codes), np.int32)

    @cached_property
    def category_lookup(self) -> dict[str, int]:
        return {name: code for code, name in enumerate(self.items.category_names)}

    def column(self, field: str) -> np.ndarray:
        """A product field as lower-cased strings (object array), for rule matching."""
        if field not in self._columns:
            self._columns[field] = np.array([_field_text(p, field) for p in self.products], dtype=object)
        return self._columns[field]

    def numeric(self, field: str) -> np.ndarray:
        """A product field as numbers (nan where it is not one)."""
        if field == "price":
            return self.items.price
        if field == "isInStock":
            return self.items.in_stock.astype(np.float32)
        if field not in self._numeric:
            self._numeric[field] = np.array([_to_float(v) for v in self.column(field)], np.float32)
        return self._numeric[field]


def _field_text(p: Product, field: str) -> str:
    if field.startswith("tags_"):
        return str(p.tags.get(field[5:], "")).strip().lower()
    if field == "isInStock":
        return "1" if p.in_stock else "0"
    if field == "category":
        return " > ".join(p.category).lower()
    return str(getattr(p, field, "")).strip().lower()


def _to_float(value: str) -> float:
    try:
        return float(value.replace(",", ".").split()[0]) if value else np.nan
    except (ValueError, IndexError):
        return np.nan


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if len(t) > 1]


def build_items(products: Sequence[Product], created_at: np.ndarray | None = None) -> Items:
    """Catalog attributes as the arrays recommenders read (categories at every level, lower-cased)."""
    n = len(products)
    brand_codes: dict[str, int] = {}
    cat_codes: dict[str, int] = {}
    brand = np.full(n, -1, np.int32)
    leaf = np.full(n, -1, np.int32)
    rows: list[int] = []
    cols: list[int] = []
    for i, p in enumerate(products):
        if p.brand:
            brand[i] = brand_codes.setdefault(p.brand.strip().lower(), len(brand_codes))
        for level in p.category:
            code = cat_codes.setdefault(level.strip().lower(), len(cat_codes))
            rows.append(i)
            cols.append(code)
        if p.category:
            leaf[i] = cat_codes[p.category[-1].strip().lower()]
    categories = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (np.array(rows, np.int64), np.array(cols, np.int64))),
        shape=(n, len(cat_codes)),
    )
    categories.sum_duplicates()
    categories.data[:] = 1.0
    text = [
        " ".join([p.name, p.brand, " ".join(p.category), " ".join(str(v) for v in p.tags.values()), p.descr[:300]])
        for p in products
    ]
    return Items(
        n=n,
        price=np.array([p.price if p.price is not None else np.nan for p in products], np.float32),
        in_stock=np.array([bool(p.in_stock) for p in products], bool),
        brand=brand,
        leaf_category=leaf,
        categories=categories,
        category_names=list(cat_codes),
        text=text,
        created_at=created_at if created_at is not None else np.zeros(n, np.int64),
    )
