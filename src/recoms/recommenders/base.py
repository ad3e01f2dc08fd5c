"""The one recommender interface: dense integer indices in, (item ids, scores) candidates out.

Recommenders know nothing of HTTP or SQL. External ids become dense indices at one boundary (the
training data builder and the snapshot's id maps); everything here works on numpy arrays.
"""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

# Interaction kinds, as stored in the `interactions` table.
VIEW, CART, PURCHASE, WISHLIST, CATEGORY_VIEW, IMPRESSION = 1, 2, 3, 4, 5, 6

PARAMS = "params"  # the array a fitted model's chosen params are saved under
Candidates = tuple[np.ndarray, np.ndarray]  # (item indices int32, scores float32), unordered
EMPTY: Candidates = (np.zeros(0, np.int32), np.zeros(0, np.float32))


@dataclass
class Interactions:
    """Every training interaction as parallel arrays (one row per event)."""

    user: np.ndarray  # int32, 0..n_users-1
    item: np.ndarray  # int32, 0..n_items-1
    kind: np.ndarray  # int8, VIEW/CART/PURCHASE/WISHLIST
    ts: np.ndarray  # int64 ms
    quantity: np.ndarray  # float32
    basket: np.ndarray  # int64 order index, -1 when not a purchase
    n_users: int
    n_items: int

    @classmethod
    def empty(cls, n_users: int = 0, n_items: int = 0) -> Interactions:
        return cls(
            np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, np.int64),
            np.zeros(0, np.float32), np.zeros(0, np.int64), n_users, n_items,
        )

    def __len__(self) -> int:
        return len(self.user)

    def select(self, mask: np.ndarray) -> Interactions:
        return Interactions(
            self.user[mask], self.item[mask], self.kind[mask], self.ts[mask], self.quantity[mask],
            self.basket[mask], self.n_users, self.n_items,
        )

    def matrix(self, weights: dict[int, float] | None = None, binary: bool = False) -> sp.csr_matrix:
        """users x items, summing `weights[kind]` (default: purchases only, by quantity)."""
        if weights is None:
            weights = {PURCHASE: 1.0}
        w = np.zeros(len(self), np.float32)
        for kind, weight in weights.items():
            w[self.kind == kind] = weight
        keep = w > 0
        m = sp.csr_matrix(
            (w[keep], (self.user[keep], self.item[keep])), shape=(self.n_users, self.n_items), dtype=np.float32
        )
        m.sum_duplicates()
        if binary:
            m.data[:] = 1.0
        return m


@dataclass
class Items:
    """What the catalog says of each item, aligned with the item indices."""

    n: int
    price: np.ndarray  # float32, nan when unknown
    in_stock: np.ndarray  # bool
    brand: np.ndarray  # int32 code, -1 when none
    leaf_category: np.ndarray  # int32 code of the deepest category, -1 when none
    categories: sp.csr_matrix  # items x category codes, 1 for every level of the item's path
    category_names: list[str]  # code -> lower-cased name (names match at any level, SPEC §2)
    text: list[str] = field(default_factory=list)  # name, brand, description and tags, for content
    created_at: np.ndarray | None = None  # int64 ms

    @classmethod
    def bare(cls, n: int) -> Items:
        return cls(
            n=n, price=np.full(n, np.nan, np.float32), in_stock=np.ones(n, bool), brand=np.full(n, -1, np.int32),
            leaf_category=np.full(n, -1, np.int32), categories=sp.csr_matrix((n, 0), dtype=np.float32),
            category_names=[], text=[""] * n, created_at=np.zeros(n, np.int64),
        )


@dataclass
class Query:
    """One request: the context products, the contact's own recent history, the category asked."""

    context: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    history_items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    history_kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    history_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    categories: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    now_ms: int = 0


class Recommender(ABC):
    """Fit on interactions and items; score a batch of queries; save to and load from plain arrays."""

    name: ClassVar[str]
    needs: ClassVar[str | None] = None  # "products", "category" or None: what a request must carry
    uses_history: ClassVar[bool] = False  # reads the contact's own recent events at request time
    learns: ClassVar[bool] = True  # False: nothing to fit (it reads the catalog or the history): serves untrained
    # True: an answer depends only on the fitted state and the query's context and categories (no time, no
    # chance), so serving may reuse it for every visitor until the models or the catalog change.
    cacheable: ClassVar[bool] = False
    # A model that reads the history (`uses_history`): True when, for an empty history, its answer depends
    # only on the fitted state and the query's context and categories (the same to every new visitor).
    cacheable_without_history: ClassVar[bool] = False
    # A model that reads the history: True when its answer depends only on the fitted state, the query's
    # context and categories and the history itself (no time, no chance): serving may reuse a contact's
    # answer until their history changes.
    cacheable_with_history: ClassVar[bool] = False
    default_params: ClassVar[dict[str, Any]] = {}
    # Params that change nothing learned: one fit serves every value of them (views share the arrays).
    serving_params: ClassVar[frozenset[str]] = frozenset()
    # What training's tuning tries per param (`training.tuning`): serving params on one fit, the others
    # by refitting, within the time budget. Empty: nothing to tune.
    tuning_space: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.default_params)
        if unknown:
            raise ValueError(f"unknown parameter(s) for {self.name}: {', '.join(sorted(unknown))}")
        self.params = {**self.default_params, **params}
        self.items: Items | None = None  # the live catalog, set by fit() or bind()
        # Params chosen for requests that set some param explicitly: (when, params), e.g. the tuned
        # params of personal for data sources that leave bought items in.
        self.variants: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def bind(self, items: Items) -> Recommender:
        """Point the model at the live catalog (same indices, maybe more items at the end)."""
        self.items = items
        return self

    def with_params(self, params: dict[str, Any]) -> Recommender:
        """A view of the fitted model with other serving params (shares the arrays).

        The given params win over the model's own; a variant whose condition they meet is the base.
        """
        if not params:
            return self
        base = self.params
        for when, chosen in getattr(self, "variants", ()):  # a plugin may not call our __init__
            if when and all(key in params and params[key] == value for key, value in when.items()):
                base = {**self.params, **chosen}
                break
        view = copy.copy(self)
        view.params = {**base, **{k: v for k, v in params.items() if k in self.default_params}}
        return view

    def recommend_variants(self, queries: Sequence[Query], points: Sequence[dict[str, Any]],
                           cache: dict[str, Any] | None = None) -> Iterator[list[Candidates]]:
        """`recommend` under each point of serving params in turn (tuning).

        Models may share work between points, and between calls on the same queries through `cache`.
        """
        for point in points:
            yield self.with_params(point).recommend(queries)

    def params_state(self) -> dict[str, np.ndarray]:
        """The params (and variants) as one array, so that a snapshot's model loads with them as defaults."""
        chosen = {"params": self.params, "variants": [{"when": w, "params": p} for w, p in self.variants]}
        return {PARAMS: np.array(json.dumps(chosen, sort_keys=True, default=str))}

    def adopt_params(self, arrays: dict[str, np.ndarray]) -> None:
        """Take the params saved by `params_state` (older snapshots have none: the class defaults stay)."""
        if PARAMS not in arrays:
            return
        chosen = json.loads(str(arrays[PARAMS]))
        known = set(self.default_params)
        self.params = {**self.params, **{k: v for k, v in chosen.get("params", {}).items() if k in known}}
        self.variants = [({k: v for k, v in item["when"].items() if k in known},
                          {k: v for k, v in item["params"].items() if k in known})
                         for item in chosen.get("variants", [])]

    def required_context(self) -> str | None:
        """What a request must carry: "products", "category" or nothing."""
        return self.needs

    def constraint(self, query: Query):
        """The algorithm's own hard constraint: a check on candidate ids (fallbacks obey it too), or None."""
        return None

    def item_list(self, item: int) -> tuple[np.ndarray, np.ndarray, bool] | None:
        """The answer to a one-product request for `item`, precomputed at training (`item_lists`): its
        candidates best first (score descending, then index), their scores, and whether that is every
        candidate of `recommend` (a list is cut at its best few hundred). None: score in full."""
        return None

    @abstractmethod
    def fit(self, interactions: Interactions, items: Items) -> Recommender: ...

    @abstractmethod
    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        """Candidates per query, best scores highest; rules, masks and top-k come after."""

    def state(self) -> dict[str, np.ndarray]:
        """The fitted model as named arrays (saved in the snapshot .npz, no pickle)."""
        return {}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Recommender:
        return self


def merge_neighbours(
    indptr: np.ndarray, neighbours: np.ndarray, weights: np.ndarray, sources: np.ndarray,
    source_weights: np.ndarray | None = None,
) -> Candidates:
    """Sum the neighbour lists (CSR rows) of `sources`, each scaled by its source weight."""
    if len(sources) == 0:
        return EMPTY
    if len(sources) == 1:  # the common request: one product, its list as it is
        s, e = indptr[sources[0]], indptr[sources[0] + 1]
        vals = weights[s:e] if source_weights is None else weights[s:e] * np.float32(source_weights[0])
        return neighbours[s:e], vals
    starts, ends = indptr[sources], indptr[sources + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return EMPTY
    # Positions of every neighbour of every source, without a Python loop.
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    idx = np.arange(total) + offsets
    vals = weights[idx].astype(np.float32, copy=True)
    if source_weights is not None:
        vals *= np.repeat(source_weights.astype(np.float32), lengths)
    return sum_by_item(neighbours[idx], vals)


def sum_by_item(items: np.ndarray, scores: np.ndarray) -> Candidates:
    """Add up the scores of repeated items."""
    if len(items) == 0:
        return EMPTY
    uniq, inv = np.unique(items, return_inverse=True)
    summed = np.zeros(len(uniq), np.float32)
    np.add.at(summed, inv, scores)
    return uniq.astype(np.int32, copy=False), summed


def descending_key(scores: np.ndarray) -> np.ndarray:
    """uint64 keys below 2**32 whose ascending order is the scores' descending order, as sorting by
    `-scores` orders them: -0.0 ties with 0.0 and NaN comes last. Scores are float32, as every list keeps
    them (wider ones are rounded to float32 first)."""
    bits = (np.asarray(scores, np.float32) + np.float32(0.0)).view(np.uint32)  # -0.0 + 0.0 is 0.0
    # IEEE floats order as their bits with the sign bit flipped for positives and every bit for negatives;
    # flipping every bit of that orders them descending.
    flip = (bits >> np.uint32(31)) * np.uint32(0x7FFFFFFF) | np.uint32(0x80000000)
    key = ~(bits ^ flip)
    key[np.isnan(scores)] = np.uint32(0xFFFFFFFF)
    return key.astype(np.uint64)


def by_row_then_score(rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The order of entries by row, then score descending, equal ones kept in place: one stable sort of one
    integer an entry (a quarter of the time of `np.lexsort((-scores, rows))`, the same order)."""
    return np.argsort((rows.astype(np.uint64) << np.uint64(32)) | descending_key(scores), kind="stable")


def top_k(ids: np.ndarray, scores: np.ndarray, k: int) -> Candidates:
    """The best `k` candidates, best first: by score, then by index (ties at the cut too, so the answer
    is the same whatever order the candidates came in). One partition, then a sort of the k."""
    if k <= 0:
        return EMPTY
    if len(ids) > k:
        cut = len(scores) - k
        # Every candidate tied with the k-th stays for the sort, which decides the ties by index.
        top = scores >= scores[np.argpartition(scores, cut)[cut]]
        ids, scores = ids[top], scores[top]
    order = np.lexsort((ids, -scores))[:k]
    return ids[order], scores[order]
