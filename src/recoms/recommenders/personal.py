"""Personal: from the contact's own purchases and browsing, recent activity weighing more.

Three parts, blended (Hu et al. 2020 showed that buying again and discovering need both):
- repeat: the contact's time-decayed purchase frequencies (goods people buy again: coffee, socks),
  smoothed with those of the most similar contacts (TIFU-KNN, see `repeat`);
- discovery: items related to everything the contact did, through an item-item model learned from
  all contacts — EASE (Steck 2019, closed form) when the catalogue's active items fit its dense inverse,
  RP3beta (a popularity-damped random walk, sparse) beyond that;
- a prior of what sells (recently), for first purchases.
How much of each suits a shop is the shop's own: training starts from its regime's defaults and tunes
the serving params on its held-out orders (`training.tuning`).
The contact's history is read at request time, so a view counts at the very next request without
retraining. Already bought items are left out unless `exclude_purchased` is false.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recoms.recommenders import item_models
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
from recoms.recommenders.masks import Check, excluding
from recoms.recommenders.personal_query import one_query, summed_rows
from recoms.recommenders.repeat import NeighbourPool, top_per_row

DAY_MS = 86_400_000
POPULARITY_HALF_LIVES = np.array([0.0, 7.0, 14.0, 30.0])  # days; 0 = all time
TUNING_KEEP = 500  # candidates per part kept when tuning scores many blends of the same parts


class Personal(Recommender):
    name = "personal"
    uses_history = True
    cacheable_without_history = True  # no history: the popularity prior of the fitted state
    cacheable_with_history = True
    default_params: ClassVar[dict[str, Any]] = {
        "exclude_purchased": True,
        "repeat_weight": 0.0,  # share of the repeat part (set per shop by its regime and tuning)
        "neighbour_weight": 0.0,  # share of similar contacts' vectors within the repeat part (TIFU-KNN)
        "neighbour_count": 25,  # similar contacts averaged
        "half_life_days": 0.0,  # 0: no decay by age
        "half_life_events": 0.0,  # 0: no decay by position (the n-th latest event weighs 2^-n/h)
        "view_weight": 0.3,
        "cart_weight": 0.6,
        "discovery": "ease",  # ease (on the max_ease_items most frequent items) | rp3beta (sparse, every item)
        "l2": 500.0,
        "max_ease_items": 8192,  # EASE's dense inverse costs n³: 8192 inverts in ~10 s, 20000 in ~2-3 min here
        "rp3_alpha": 1.0,
        "rp3_beta": 0.5,
        "neighbours": 1000,  # EASE weights kept per item above 4096 items (sparse, by magnitude)
        "propensity_power": 0.0,  # the repeat part times (the item's rebuy rate across contacts)^power
        "popularity_weight": 0.0,  # share of a popularity prior (log scale) among the candidates
        "popularity_half_life_days": 0.0,  # recent popularity: 0 (all time), 7, 14 or 30 days
        "neighbour_half_life_days": 90.0,  # decay of the pool contacts' vectors
        "neighbour_pool": 20000,  # contacts (the latest buyers) neighbours are searched among
    }
    serving_params: ClassVar[frozenset[str]] = frozenset(
        {"exclude_purchased", "repeat_weight", "neighbour_weight", "neighbour_count", "half_life_days",
         "half_life_events", "view_weight", "cart_weight", "propensity_power", "popularity_weight",
         "popularity_half_life_days"}
    )
    # Searched in this order, cheapest first (a budget may end the search): blend weights reuse the
    # parts; decays and view weights recompute them; fit params (l2) refit, nearest the default first.
    tuning_space: ClassVar[dict[str, tuple[Any, ...]]] = {
        "repeat_weight": (0.0, 0.3, 0.6, 0.8, 1.0),
        "neighbour_weight": (0.0, 0.3, 0.5, 0.7),
        "popularity_weight": (0.0, 0.1, 0.2, 0.4),
        "popularity_half_life_days": (0.0, 7.0, 30.0),
        "propensity_power": (0.0, 0.5, 1.0),
        "half_life_days": (0.0, 30.0, 90.0, 365.0),
        "half_life_events": (0.0, 5.0, 20.0),
        "view_weight": (0.3, 0.1, 1.0),
        "l2": (500.0, 1000.0, 200.0),
    }

    def _kind_weights(self, p: dict[str, Any] | None = None) -> dict[int, float]:
        p = p or self.params
        return {PURCHASE: 1.0, CART: float(p["cart_weight"]), WISHLIST: float(p["cart_weight"]),
                VIEW: float(p["view_weight"])}

    def fit(self, interactions: Interactions, items: Items) -> Personal:
        self.items = items
        x = interactions.matrix(self._kind_weights())
        x.data[:] = np.minimum(x.data, 1.0)  # the strongest signal per pair, not a count
        self.model = item_models.fit(
            x, self.params["discovery"], l2=float(self.params["l2"]),
            max_ease_items=int(self.params["max_ease_items"]), alpha=float(self.params["rp3_alpha"]),
            beta=float(self.params["rp3_beta"]), neighbours=int(self.params["neighbours"]),
        )
        self.propensity = rebuy_rate(interactions)
        self.popularity = popularity_profiles(interactions)
        self.pool = NeighbourPool.fit(interactions, float(self.params["neighbour_half_life_days"]),
                                      int(self.params["neighbour_pool"]), max_items=300)
        return self

    def state(self) -> dict[str, np.ndarray]:
        return {**self.model.state(), "propensity": self.propensity, "popularity": self.popularity,
                **self.pool.state("pool"), **self.params_state()}

    def load_state(self, arrays: dict[str, np.ndarray], items: Items) -> Personal:
        self.model = item_models.ItemModel.from_state(arrays)
        self.propensity = arrays["propensity"]
        self.popularity = arrays["popularity"]
        self.pool = NeighbourPool.from_state(arrays, "pool", self.model.n_items)
        self.adopt_params(arrays)
        self.items = items
        return self

    def constraint(self, query: Query) -> Check | None:
        if not self.params["exclude_purchased"]:
            return None
        bought = query.history_items[query.history_kinds == PURCHASE]
        return excluding(bought) if len(bought) else None  # repeats are harmless to the check

    def popular_top(self, half_life: float) -> tuple[np.ndarray, np.ndarray]:
        """The popularity prior: the most popular items (by index) and their popularity, the same for every
        query (cached per profile; the model is immutable)."""
        profile = int(np.argmin(np.abs(POPULARITY_HALF_LIVES - half_life)))
        cache = self.__dict__.setdefault("_popular", {})
        if profile not in cache:
            popularity = self.popularity[profile]
            top = _top_popular(popularity)
            top = top[top < self.model.n_items]
            cache[profile] = (top, popularity[top])
        return cache[profile]

    def _popular_rows(self, n_rows: int, half_life: float) -> sp.csr_matrix:
        """The popularity prior over the most popular items, for every query alike."""
        top, values = self.popular_top(half_life)
        n = self.model.n_items
        return sp.csr_matrix((np.tile(values, n_rows), np.tile(top, n_rows),
                              np.arange(0, n_rows * len(top) + 1, max(len(top), 1))
                              if len(top) else np.zeros(n_rows + 1, np.int64)), shape=(n_rows, n))

    def weighted_events(self, q: Query, kinds: dict[int, float], p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """One query's history events as (items, weights): each event's kind weight, decayed by age and by
        position (an item's repeated events not added up yet)."""
        table = np.zeros(256, np.float32)  # kind -> weight (kinds are small non-negative codes)
        for kind, w in kinds.items():
            table[kind] = w
        weights = table[q.history_kinds]
        keep = (weights > 0) & (q.history_items < self.model.n_items)
        if keep.all():
            items, ts, w = q.history_items, q.history_ts, weights
        else:
            items, ts, w = q.history_items[keep], q.history_ts[keep], weights[keep]
        if len(w) == 0:
            return items, w
        if p["half_life_days"] > 0:
            w = w * np.exp2(-(ts.max() - ts) / (DAY_MS * float(p["half_life_days"]))).astype(np.float32)
        if p["half_life_events"] > 0:
            position = np.empty(len(ts), np.float32)
            position[np.argsort(-ts, kind="stable")] = np.arange(len(ts), dtype=np.float32)
            w = w * np.exp2(-position / float(p["half_life_events"]))
        return items, w

    def history_matrix(self, queries: Sequence[Query], kinds: dict[int, float],
                       params: dict[str, Any] | None = None) -> sp.csr_matrix:
        """queries x items: each history event's kind weight, decayed by age and by position."""
        p = params or self.params
        n = self.model.n_items
        rows, cols, vals = [], [], []
        for row, q in enumerate(queries):
            items, w = self.weighted_events(q, kinds, p)
            rows.append(np.full(len(w), row))
            cols.append(items)
            vals.append(w)
        if not rows:
            return sp.csr_matrix((len(queries), n), dtype=np.float32)
        indptr, indices, data = summed_rows(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals),
                                            len(queries))
        return sp.csr_matrix((data, indices, indptr), shape=(len(queries), n))

    def recommend(self, queries: Sequence[Query]) -> list[Candidates]:
        if not queries:
            return []
        if len(queries) == 1:  # a request: vectors, no matrices (the same numbers as a batch's row)
            return [one_query(self, queries[0], self.params)]
        parts = _Parts(self, queries)
        return _rows(parts.blend(self.params))

    def recommend_variants(self, queries: Sequence[Query], points: Sequence[dict[str, Any]],
                           cache: dict[str, Any] | None = None) -> Iterator[list[Candidates]]:
        """Every point from one computation of each part (tuning), each part cut to its best candidates."""
        cache = {} if cache is None else cache
        parts = cache.setdefault("personal_parts", _Parts(self, queries, keep=TUNING_KEEP))
        for point in points:
            yield _rows(parts.blend({**self.params, **point}))


class _Parts:
    """The parts of a batch of queries, computed once per setting that changes them, then blended."""

    def __init__(self, model: Personal, queries: Sequence[Query], keep: int = 0) -> None:
        self.model, self.queries, self.keep = model, queries, keep
        self.cache: dict[tuple, sp.csr_matrix] = {}
        self._bought: sp.csr_matrix | None = None

    def _get(self, key: tuple, make) -> sp.csr_matrix:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def _decay(self, p: dict[str, Any]) -> tuple:
        return (float(p["half_life_days"]), float(p["half_life_events"]))

    def _cut(self, m: sp.csr_matrix, p: dict[str, Any]) -> sp.csr_matrix:
        """When tuning: bought items out first (when they will be), then each row's best `keep`."""
        if not self.keep:
            return m
        if p["exclude_purchased"]:
            m = sp.csr_matrix(m - m.multiply(self.bought()))
            m.eliminate_zeros()
        return top_per_row(m, self.keep)

    def bought(self) -> sp.csr_matrix:
        if self._bought is None:
            own = self.model.history_matrix(self.queries, {PURCHASE: 1.0}, {"half_life_days": 0, "half_life_events": 0})
            own.data[:] = 1.0
            self._bought = own
        return self._bought

    def own(self, p: dict[str, Any]) -> sp.csr_matrix:
        return self._get(("own", *self._decay(p)),
                         lambda: self.model.history_matrix(self.queries, {PURCHASE: 1.0}, p))

    def discovery(self, p: dict[str, Any]) -> sp.csr_matrix:
        def make() -> sp.csr_matrix:
            activity = self.model.history_matrix(self.queries, self.model._kind_weights(p), p)
            activity.data = np.minimum(activity.data, 1.0)
            return self._cut(_row_normalised(self.model.model.score(activity)), p)
        key = ("discovery", *self._decay(p), float(p["view_weight"]), float(p["cart_weight"]),
               bool(p["exclude_purchased"]))
        return self._get(key, make)

    def repeat(self, p: dict[str, Any]) -> sp.csr_matrix:
        def make() -> sp.csr_matrix:
            own = self.own(p)
            power = float(p["propensity_power"])
            if power > 0:
                own = sp.csr_matrix(own @ sp.diags(self.model.propensity**power))
            return _row_normalised(own)
        return self._get(("repeat", *self._decay(p), float(p["propensity_power"])), make)

    def neighbours(self, p: dict[str, Any]) -> sp.csr_matrix:
        def make() -> sp.csr_matrix:
            smooth = self.model.pool.smooth(self.own(p), int(p["neighbour_count"]))
            return self._cut(_row_normalised(smooth), p)
        return self._get(("neighbours", *self._decay(p), int(p["neighbour_count"]), bool(p["exclude_purchased"])),
                         make)

    def popular(self, p: dict[str, Any]) -> sp.csr_matrix:
        half_life = float(p["popularity_half_life_days"])
        return self._get(("popular", half_life), lambda: self.model._popular_rows(len(self.queries), half_life))

    def blend(self, p: dict[str, Any]) -> sp.csr_matrix:
        scores = self.discovery(p)
        r, nw = float(p["repeat_weight"]), float(p["neighbour_weight"])
        if p["exclude_purchased"] and nw <= 0:
            r = 0.0  # the contact's own purchases are all left out: without neighbours, no repeat part
        if r > 0:
            repeat = self.repeat(p)
            if nw > 0:
                repeat = _row_normalised(repeat * (1 - nw) + self.neighbours(p) * nw)
            scores = scores * (1 - r) + repeat * r
        pw = float(p["popularity_weight"])
        if pw > 0:
            scores = scores * (1 - pw) + self.popular(p) * pw
        return sp.csr_matrix(scores)


def _rows(scores: sp.csr_matrix) -> list[Candidates]:
    out = []
    for i in range(scores.shape[0]):
        s, e = scores.indptr[i], scores.indptr[i + 1]
        if s == e:
            out.append(EMPTY)
        else:
            out.append((scores.indices[s:e].astype(np.int32), scores.data[s:e].astype(np.float32)))
    return out


def popularity_profiles(interactions: Interactions) -> np.ndarray:
    """Log popularity in [0, 1] per item, all-time and time-decayed (one row per POPULARITY_HALF_LIVES).

    Recent popularity predicts first-time purchases far better than all-time counts: +10 % NDCG for
    new items on Complete Journey (docs/quality.md).
    """
    n = interactions.n_items
    end = int(interactions.ts.max()) if len(interactions) else 0
    rows = []
    for half_life in POPULARITY_HALF_LIVES:
        weights = None if half_life == 0 else np.exp2(-(end - interactions.ts) / (half_life * DAY_MS))
        counts = np.bincount(interactions.item, weights=weights, minlength=n).astype(np.float64)
        rows.append(np.log1p(counts) / max(np.log1p(counts.max(initial=0.0)), 1e-9))
    return np.array(rows, np.float32).reshape(len(POPULARITY_HALF_LIVES), n)


def _top_popular(popularity: np.ndarray, k: int = 500) -> np.ndarray:
    ids = np.flatnonzero(popularity > 0)
    return np.sort(top_k(ids, popularity[ids], k)[0])


def rebuy_rate(interactions: Interactions) -> np.ndarray:
    """Per item: the share of its buyers who bought it again in another order (smoothed to 1/2 when unseen)."""
    bought = interactions.select(interactions.kind == PURCHASE)
    n = interactions.n_items
    if len(bought) == 0:
        return np.full(n, 0.5, np.float32)
    # Distinct (user, item, order) purchases, then orders per (user, item); without an order number,
    # the purchases at one time are one order.
    order = np.where(bought.basket >= 0, bought.basket, -1 - bought.ts)
    orders = np.unique(np.stack([bought.user.astype(np.int64), bought.item.astype(np.int64), order]), axis=1)
    pairs, per_pair = np.unique(orders[:2], axis=1, return_counts=True)
    buyers = np.bincount(pairs[1], minlength=n)
    again = np.bincount(pairs[1], weights=per_pair >= 2, minlength=n)
    return ((again + 1.0) / (buyers + 2.0)).astype(np.float32)


def _row_normalised(m: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its largest positive entry (so two parts blend on one scale)."""
    m = sp.csr_matrix(m, dtype=np.float32)
    m.data = np.maximum(m.data, 0.0)
    m.eliminate_zeros()
    if m.nnz == 0:
        return m
    peaks = np.maximum.reduceat(m.data, m.indptr[:-1][np.diff(m.indptr) > 0])
    row_peak = np.zeros(m.shape[0], np.float32)
    row_peak[np.diff(m.indptr) > 0] = peaks
    m.data /= np.repeat(np.where(row_peak > 0, row_peak, 1.0), np.diff(m.indptr))
    return m
