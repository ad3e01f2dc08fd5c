"""Item-item models a contact's activity is multiplied through: EASE (dense, exact) and RP3beta (sparse).

Both map a queries x items activity matrix to queries x items scores in one product, and both save as
plain arrays. EASE's dense inverse is exact but costs n² memory, so large catalogues keep each item's
strongest `neighbours` weights (sparse) or switch to RP3beta.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recoms.recommenders.baselines import _gram, _spd_inverse
from recoms.recommenders.neighbours import BLOCK, top_k_per_row

DENSE_LIMIT = 4096  # EASE weights stay dense up to this many items (64 MB of float32)


@dataclass
class ItemModel:
    n_items: int
    kept: np.ndarray  # int32: the items the weights are about (rows and columns)
    dense: np.ndarray | None  # kept x kept weights, or None
    sparse: sp.csr_matrix | None  # n_items x n_items weights, or None

    def score(self, activity: sp.csr_matrix) -> sp.csr_matrix:
        activity = sp.csr_matrix(activity, dtype=np.float32)
        if self.sparse is not None:
            return sp.csr_matrix(activity @ self.sparse)
        if self.dense is None or len(self.kept) == 0:
            return sp.csr_matrix(activity.shape, dtype=np.float32)
        part = activity[:, self.kept] @ self.dense  # dense: queries x kept
        rows, cols = np.nonzero(part)
        return sp.csr_matrix((part[rows, cols], (rows, self.kept[cols])), shape=activity.shape)

    def score_one(self, items: np.ndarray, weights: np.ndarray, positive: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
        """`score` of one activity row, given as its (ascending) items and weights: the batch's very
        product on that one row (row by row, scipy's products do not depend on the other rows), so the
        same numbers; without the batch's matrices around it. `positive`: only the positive scores."""
        weights = weights.astype(np.float32, copy=False)
        if self.sparse is not None:
            # int32 indices: scipy checks and converts nothing (a third of the cost of the row otherwise).
            row = sp.csr_array((weights, items.astype(np.int32), np.array([0, len(items)], np.int32)),
                               shape=(1, self.n_items))
            out = sp.csr_array(row @ self.sparse)  # sparse: the product's work follows the history's rows
            ids, scores = out.indices, out.data
            keep = scores > 0 if positive else scores != 0  # the batch's product drops exact zeros too
            return (ids, scores) if keep.all() else (ids[keep], scores[keep])
        if self.dense is None or len(self.kept) == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        pos = np.searchsorted(self.kept, items)
        inside = pos < len(self.kept)
        inside[inside] = self.kept[pos[inside]] == items[inside]
        if not inside.any():
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        row = sp.csr_array((weights[inside], pos[inside].astype(np.int32),
                            np.array([0, int(inside.sum())], np.int32)), shape=(1, len(self.kept)))
        part = (row @ self.dense)[0]  # the batch's product of the kept columns, on one row
        nz = np.flatnonzero(part > 0) if positive else np.flatnonzero(part)
        return self.kept[nz], part[nz]

    def state(self) -> dict[str, np.ndarray]:
        out = {"n_items": np.array([self.n_items], np.int64), "kept": self.kept}
        if self.dense is not None:
            out["dense"] = self.dense
        if self.sparse is not None:
            out.update(w_indptr=self.sparse.indptr, w_indices=self.sparse.indices, w_data=self.sparse.data)
        return out

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray]) -> ItemModel:
        n = int(arrays["n_items"][0])
        sparse = None
        if "w_indptr" in arrays:
            sparse = sp.csr_matrix((arrays["w_data"], arrays["w_indices"], arrays["w_indptr"]), shape=(n, n))
        return cls(n, arrays["kept"], arrays.get("dense"), sparse)


def fit(
    x: sp.csr_matrix, kind: str = "ease", l2: float = 500.0, max_ease_items: int = 20000, alpha: float = 1.0,
    beta: float = 0.5, neighbours: int = 1000,
) -> ItemModel:
    """Fit on a users x items matrix: EASE on its `max_ease_items` most frequent items, or RP3beta on all.

    Measured on Complete Journey (68k items, new-item baskets): EASE on the 20k most frequent items
    ranked twice as well as RP3beta over all of them, so EASE is the default.
    """
    active = np.flatnonzero(np.diff(sp.csc_matrix(x).indptr) > 0).astype(np.int32)
    if kind == "ease":
        return ease(x, active, l2, max_ease_items, neighbours)
    if kind == "rp3beta":
        return rp3beta(x, alpha, beta, neighbours)
    raise ValueError(f"unknown item model {kind!r}: ease or rp3beta")


def ease(x: sp.csr_matrix, active: np.ndarray, l2: float, max_items: int, neighbours: int) -> ItemModel:
    n = x.shape[1]
    if len(active) > max_items:  # the most frequent items only
        users_per_item = np.diff(sp.csc_matrix(x).indptr)
        active = np.sort(active[np.argsort(-users_per_item[active], kind="stable")[:max_items]]).astype(np.int32)
    if len(active) == 0:
        return ItemModel(n, active, None, None)
    xk = sp.csr_matrix(x[:, active])
    # float32 beyond the dense limit: the inverse costs n³, and float64 takes 2.5 times as long (well
    # conditioned by l2, float32 ranks the same).
    gram = _gram(xk, np.float64 if len(active) <= DENSE_LIMIT else np.float32)
    gram[np.diag_indices_from(gram)] += l2
    p = _spd_inverse(gram)
    p /= -np.diag(p).copy()[None, :]
    np.fill_diagonal(p, 0.0)
    weights = p.astype(np.float32, copy=False)
    if len(active) <= DENSE_LIMIT:
        return ItemModel(n, active, weights, None)
    return ItemModel(n, active, None, dense_top_k(weights, active, n, neighbours))


def dense_top_k(weights: np.ndarray, ids: np.ndarray, n: int, k: int) -> sp.csr_matrix:
    """Each row's k strongest weights, in the full item space (a block of rows at a time).

    Strongest by magnitude: EASE's negative weights (items that do not go together) matter as much as
    the positive ones; keeping only positives cost 7 % NDCG on Complete Journey.
    """
    k = min(k, weights.shape[1])
    rows, cols, vals = [], [], []
    for start in range(0, len(weights), 1024):
        block = weights[start:start + 1024]
        top = np.argpartition(-np.abs(block), k - 1, axis=1)[:, :k]
        picked = np.take_along_axis(block, top, axis=1)
        keep = picked != 0
        rows.append(ids[np.repeat(np.arange(start, start + len(block)), k)[keep.ravel()]])
        cols.append(ids[top[keep]])
        vals.append(picked[keep])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n),
                         dtype=np.float32)


def rp3beta(x: sp.csr_matrix, alpha: float, beta: float, neighbours: int) -> ItemModel:
    """Item -> user -> item walk probabilities, each step to the power alpha, damped by popularity^beta."""
    x = sp.csr_matrix(x, dtype=np.float32)
    x.data[:] = 1.0
    n = x.shape[1]
    popularity = np.asarray(x.sum(axis=0)).ravel()
    p_ui = _rows_normalised(x)
    p_iu = _rows_normalised(sp.csr_matrix(x.T))
    if alpha != 1.0:
        p_ui.data **= alpha
        p_iu.data **= alpha
    damp = np.where(popularity > 0, popularity, 1.0) ** -beta
    blocks = []
    for start in range(0, n, BLOCK):
        w = sp.coo_matrix(p_iu[start:start + BLOCK] @ p_ui)
        keep = w.row + start != w.col  # no item is its own neighbour
        vals = (w.data[keep] * damp[w.col[keep]]).astype(np.float32)
        blocks.append(top_k_per_row(sp.csr_matrix((vals, (w.row[keep], w.col[keep])), shape=w.shape), neighbours))
    return ItemModel(n, np.flatnonzero(popularity > 0).astype(np.int32), None, sp.csr_matrix(sp.vstack(blocks)))


def _rows_normalised(m: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(m.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(np.where(sums > 0, 1.0 / np.where(sums > 0, sums, 1.0), 0.0)) @ m,
                         dtype=np.float32)
