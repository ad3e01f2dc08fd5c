"""The repeat part of personal: TIFU-KNN (Hu et al. 2020), time-decayed purchase frequencies smoothed by
those of similar contacts.

A contact's vector holds, per item, its purchases weighted by age (half-life in days, counted back
from the contact's latest purchase). On grocery baskets the vector alone ties "buy your usual items
again"; blended with the mean vector of the contacts most like it (cosine), it ranks the next basket
better (+10 % NDCG@10 on Complete Journey, docs/quality.md): the neighbours say which of the contact's
items people like it keep buying, and add what they buy that it has not tried yet.

The neighbours are searched at request time among a pool of the most recently active buyers, whose
vectors are pruned to their strongest items, so a request costs at most (query items x pool) sparse
products whatever the shop's size. Nothing here runs unless a data source's personal has a repeat part
with neighbours (`repeat_weight` and `neighbour_weight` above zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recoms.recommenders.base import PURCHASE, Interactions

DAY_MS = 86_400_000
SELF = 0.9999  # cosine at which a pool vector is the contact's own (as trained): not its own neighbour
QUERY_ITEMS = 200  # a query's strongest items that look for neighbours (bounds a request's cost)


def decayed_vectors(
    rows: np.ndarray, items: np.ndarray, ts: np.ndarray, n_rows: int, n_items: int, half_life_days: float,
) -> sp.csr_matrix:
    """rows x items: purchases weighted 2^(-age / half-life), age from each row's latest purchase."""
    weights = np.ones(len(rows), np.float32)
    if half_life_days > 0 and len(rows):
        latest = np.full(n_rows, np.iinfo(np.int64).min, np.int64)
        np.maximum.at(latest, rows, ts)
        weights = np.exp2(-(latest[rows] - ts) / (DAY_MS * half_life_days)).astype(np.float32)
    m = sp.csr_matrix((weights, (rows, items)), shape=(n_rows, n_items), dtype=np.float32)
    m.sum_duplicates()
    return m


def top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's k largest entries (a partition per long row; short rows stay whole)."""
    m = sp.csr_matrix(m)
    lengths = np.diff(m.indptr)
    if k <= 0 or lengths.max(initial=0) <= k:
        return m
    keep = np.ones(m.nnz, bool)
    for row in np.flatnonzero(lengths > k):
        s, e = m.indptr[row], m.indptr[row + 1]
        keep[s + np.argpartition(-m.data[s:e], k - 1)[k:]] = False
    counts = np.bincount(np.repeat(np.arange(m.shape[0]), lengths)[keep], minlength=m.shape[0])
    return sp.csr_matrix((m.data[keep], m.indices[keep], np.r_[0, np.cumsum(counts)]), shape=m.shape)


def unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0).astype(np.float32)
    # Each entry scaled in place (a product with a diagonal would reorder each row's entries, and the
    # order of a row decides how the products after it add up: `smooth_one` must meet the same order).
    out = sp.csr_matrix((m.data * np.repeat(scale, np.diff(m.indptr)), m.indices.copy(), m.indptr.copy()),
                        shape=m.shape, dtype=np.float32)
    out.eliminate_zeros()
    return out


@dataclass
class NeighbourPool:
    vectors: sp.csr_matrix  # pool contacts x items: decayed purchase frequencies (pruned)
    by_item: sp.csr_matrix  # items x pool contacts: the unit-length vectors, for the cosine of a query

    @classmethod
    def empty(cls, n_items: int) -> NeighbourPool:
        return cls(sp.csr_matrix((0, n_items), dtype=np.float32), sp.csr_matrix((n_items, 0), dtype=np.float32))

    @classmethod
    def fit(cls, interactions: Interactions, half_life_days: float, max_contacts: int, max_items: int
            ) -> NeighbourPool:
        """The vectors of the `max_contacts` contacts who bought most recently, each cut to `max_items`."""
        bought = interactions.select(interactions.kind == PURCHASE)
        n_items = interactions.n_items
        if len(bought) == 0:
            return cls.empty(n_items)
        latest = np.full(interactions.n_users, -1, np.int64)
        np.maximum.at(latest, bought.user, bought.ts)
        buyers = np.flatnonzero(latest >= 0)
        if len(buyers) > max_contacts:
            buyers = buyers[np.argsort(-latest[buyers], kind="stable")[:max_contacts]]
        slot = np.full(interactions.n_users, -1, np.int64)
        slot[buyers] = np.arange(len(buyers))
        keep = slot[bought.user] >= 0
        vectors = decayed_vectors(slot[bought.user[keep]], bought.item[keep], bought.ts[keep], len(buyers),
                                  n_items, half_life_days)
        vectors = top_per_row(vectors, max_items)
        return cls(vectors, sp.csr_matrix(unit_rows(vectors).T))

    @property
    def size(self) -> int:
        return self.vectors.shape[0]

    def smooth(self, own: sp.csr_matrix, k: int) -> sp.csr_matrix:
        """queries x items: the similarity-weighted mean vector of each query's k most similar pool contacts."""
        n_queries = own.shape[0]
        n = self.vectors.shape[1]
        if self.size == 0 or own.nnz == 0 or k <= 0:
            return sp.csr_matrix((n_queries, n), dtype=np.float32)
        query = unit_rows(top_per_row(sp.csr_matrix(own[:, : self.by_item.shape[0]]), QUERY_ITEMS))
        sims = sp.csr_matrix(query[:, : self.by_item.shape[0]] @ self.by_item)
        sims.data[sims.data >= SELF] = 0.0  # the contact itself, as it was trained
        sims.eliminate_zeros()
        weights = top_per_row(sims, k)
        weights.data /= np.float32(k)
        out = sp.csr_matrix(weights @ self.vectors, dtype=np.float32)
        if out.shape[1] < n:
            out.resize((n_queries, n))
        return out

    def smooth_one(self, ids: np.ndarray, vals: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`smooth` of one query given as its (ascending) items and values: the same operations on the one
        row (scipy's products on a one-row matrix, the rest on its arrays), so the same numbers."""
        n_pool_items = self.by_item.shape[0]
        if self.size == 0 or len(ids) == 0 or k <= 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        if ids[-1] >= n_pool_items:
            vals, ids = vals[ids < n_pool_items], ids[ids < n_pool_items]
        if len(ids) > QUERY_ITEMS:  # top_per_row: the same partition of the same array
            keep = np.ones(len(ids), bool)
            keep[np.argpartition(-vals, QUERY_ITEMS - 1)[QUERY_ITEMS:]] = False
            ids, vals = ids[keep], vals[keep]
        if len(ids) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        norm = np.sqrt(np.add.reduceat(vals * vals, [0]))  # unit_rows: the row's sum as scipy sums a row
        scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0).astype(np.float32)
        unit = vals.astype(np.float32, copy=False) * scale[0]
        query = _row(unit[unit != 0], ids[unit != 0], n_pool_items)
        sims = sp.csr_array(query @ self.by_item)
        s_ids, s_vals = sims.indices, sims.data.copy()
        s_vals[s_vals >= SELF] = 0.0  # the contact itself, as it was trained
        keep = s_vals != 0
        s_ids, s_vals = s_ids[keep], s_vals[keep]
        if len(s_ids) > k:
            keep = np.ones(len(s_ids), bool)
            keep[np.argpartition(-s_vals, k - 1)[k:]] = False
            s_ids, s_vals = s_ids[keep], s_vals[keep]
        s_vals = s_vals / np.float32(k)
        out = sp.csr_array(_row(s_vals, s_ids, self.size) @ self.vectors)
        return out.indices, out.data.astype(np.float32, copy=False)

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        v = self.vectors
        return {f"{prefix}_indptr": v.indptr, f"{prefix}_indices": v.indices, f"{prefix}_data": v.data,
                f"{prefix}_shape": np.array(v.shape, np.int64)}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], prefix: str, n_items: int) -> NeighbourPool:
        if f"{prefix}_indptr" not in arrays:
            return cls.empty(n_items)
        shape = tuple(int(x) for x in arrays[f"{prefix}_shape"])
        vectors = sp.csr_matrix(
            (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]), shape=shape
        )
        return cls(vectors, sp.csr_matrix(unit_rows(vectors).T))


def _row(vals: np.ndarray, ids: np.ndarray, n: int) -> sp.csr_array:
    """One row as a sparse matrix (int32 indices: scipy converts nothing)."""
    return sp.csr_array((vals, ids.astype(np.int32, copy=False), np.array([0, len(ids)], np.int32)), shape=(1, n))
