"""Item-item neighbour lists (CSR: indptr, indices, scores), computed blockwise to bound memory.

Used by similar (co-views, content), also_bought and cross_sell (co-purchases). Raw co-occurrence
counts only repeat the bestsellers, so counts are normalised (cosine, lift or a popularity-damped
conditional probability) before the top-k per item is kept.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from recoms.recommenders.base import by_row_then_score
from recoms.recommenders.catalog import tokens

BLOCK = 2048
T = TypeVar("T")
_shared: dict[tuple, tuple[tuple[weakref.ref, ...], object]] = {}
_shared_lock = threading.Lock()


def shared(owners: tuple[object, ...], key: tuple, make: Callable[[], T]) -> T:
    """`make()`, computed once for the same owners (one training's interactions and items) and key.

    Algorithms read the same lists: similar and upsell the co-views and content, also_bought, cross_sell
    and upsell the co-purchases; one training computes each once. An entry goes when an owner goes.
    """
    slot = (*(id(o) for o in owners), *key)
    with _shared_lock:
        found = _shared.get(slot)
        if found is not None and all(ref() is o for ref, o in zip(found[0], owners, strict=True)):
            return found[1]  # type: ignore[return-value]
    value = make()
    with _shared_lock:
        _shared[slot] = (tuple(weakref.ref(o) for o in owners), value)
    for o in owners:
        weakref.finalize(o, _shared.pop, slot, None)
    return value


@dataclass
class Neighbours:
    indptr: np.ndarray  # int64, n_items + 1
    indices: np.ndarray  # int32
    scores: np.ndarray  # float32

    @classmethod
    def empty(cls, n: int) -> Neighbours:
        return cls(np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))

    @classmethod
    def from_csr(cls, m: sp.csr_matrix) -> Neighbours:
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float32))

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    def state(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_indptr": self.indptr, f"{prefix}_indices": self.indices, f"{prefix}_scores": self.scores}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], prefix: str) -> Neighbours:
        return cls(arrays[f"{prefix}_indptr"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_scores"])

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if i >= self.n:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        s, e = self.indptr[i], self.indptr[i + 1]
        return self.indices[s:e], self.scores[s:e]


def top_k_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's k largest entries (vectorised: one sort of all non-zeros)."""
    m = m.tocsr()
    m.eliminate_zeros()
    counts = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    order = by_row_then_score(rows, m.data)
    position = np.arange(len(order)) - np.repeat(m.indptr[:-1], counts)
    keep = order[position < k]
    return sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)


def cooccurrence(
    x: sp.csr_matrix, k: int, method: str = "cosine", alpha: float = 0.5, min_count: float = 1.0
) -> Neighbours:
    """Neighbours of each item by how often the rows of `x` (users or baskets) hold both items.

    methods: `count` (raw), `cosine` (c / sqrt(n_i n_j)), `lift` (c N / (n_i n_j)), `damped`
    (c / (n_i^(1-alpha) n_j^alpha): a conditional probability with the popularity of j damped).
    """
    x = x.tocsr().astype(np.float32)
    x.data[:] = 1.0
    n_rows, n_items = x.shape
    if x.nnz == 0:
        return Neighbours.empty(n_items)
    counts = np.asarray(x.sum(axis=0)).ravel().astype(np.float32)
    xt = x.T.tocsr()
    blocks = []
    for start in range(0, n_items, BLOCK):
        stop = min(start + BLOCK, n_items)
        c = (xt[start:stop] @ x).tocoo()
        rows = c.row + start
        keep = (rows != c.col) & (c.data >= min_count)
        rows, cols, vals = rows[keep], c.col[keep], c.data[keep].astype(np.float32)
        ni, nj = counts[rows], counts[cols]
        if method == "cosine":
            vals = vals / np.sqrt(ni * nj)
        elif method == "lift":
            vals = vals * n_rows / (ni * nj)
        elif method == "damped":
            vals = vals / (ni ** (1 - alpha) * nj**alpha)
        elif method != "count":
            raise ValueError(f"unknown co-occurrence method {method!r}")
        block = sp.csr_matrix((vals, (rows - start, cols)), shape=(stop - start, n_items))
        blocks.append(top_k_per_row(block, k))
    return Neighbours.from_csr(sp.vstack(blocks).tocsr())


def tfidf(texts: list[str]) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows of the item texts (our own: a few lines, no extra dependency)."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for tok in tokens(text):
            rows.append(i)
            cols.append(vocab.setdefault(tok, len(vocab)))
    m = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (np.array(rows, np.int64), np.array(cols, np.int64))),
        shape=(len(texts), len(vocab)),
    )
    m.sum_duplicates()
    df = np.bincount(m.indices, minlength=len(vocab)).astype(np.float32)
    idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    m.data = (1 + np.log(m.data)) * idf[m.indices]
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m, dtype=np.float32)


def content(texts: list[str], group: np.ndarray, k: int) -> Neighbours:
    """Neighbours by text similarity, only between items of the same group (e.g. leaf category)."""
    n = len(texts)
    if n == 0:
        return Neighbours.empty(0)
    t = tfidf(texts)
    out_rows, out_cols, out_vals = [], [], []
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < 2 or group[members[0]] < 0:
            continue
        for start in range(0, len(members), BLOCK):
            block = members[start:start + BLOCK]
            sims = (t[block] @ t[members].T).toarray()
            sims[np.arange(len(block)), np.arange(start, start + len(block))] = 0.0
            kk = min(k, len(members) - 1)
            top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            vals = np.take_along_axis(sims, top, axis=1)
            out_rows.append(np.repeat(block, kk))
            out_cols.append(members[top].ravel())
            out_vals.append(vals.ravel())
    if not out_rows:
        return Neighbours.empty(n)
    vals = np.concatenate(out_vals).astype(np.float32)
    m = sp.csr_matrix(
        (np.maximum(vals, 1e-6), (np.concatenate(out_rows), np.concatenate(out_cols))), shape=(n, n)
    )
    return Neighbours.from_csr(m)
