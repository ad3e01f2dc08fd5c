"""Any recommender's candidates -> the top K items per query, a batch at a time, vectorised.

`BatchScorer`s hand over a score matrix directly; other recommenders' candidate lists are scattered into
one. Masks (seen items, items outside the ranked set) and top-k then run on the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recoms.recommenders.base import Query, Recommender
from recoms.recommenders.baselines import BatchScorer

MAX_BATCH = 1000
MAX_CELLS = 2**25  # scores held at once (~128 MB of float32): batches shrink on large catalogues


def batch_size(n_items: int) -> int:
    return max(1, min(MAX_BATCH, MAX_CELLS // max(n_items, 1)))


def rank(
    model: Recommender, queries: Sequence[Query], k: int, n_items: int,
    exclude: sp.csr_matrix | None = None, allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Queries x k item indices, best first, -1 where fewer than k candidates remain.

    `exclude` (queries x items) marks items never to rank for a query; `allowed` (bool per item) restricts
    the ranking to a set of items. Ties go to the lower index.
    """
    ranked = np.full((len(queries), k), -1, np.int32)
    size = batch_size(n_items)
    for start in range(0, len(queries), size):
        stop = min(start + size, len(queries))
        scores = score_matrix(model, queries[start:stop], n_items)
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        if exclude is not None:
            block = sp.csr_matrix(exclude[start:stop]).tocoo()
            scores[block.row, block.col] = -np.inf
        ranked[start:stop] = top_k_rows(scores, k)
    return ranked


def score_matrix(model: Recommender, queries: Sequence[Query], n_items: int) -> np.ndarray:
    """Dense queries x items scores (float32 or wider), -inf for items that are no candidate."""
    if isinstance(model, BatchScorer):
        scores = model.score_batch(queries)
        if sp.issparse(scores):
            coo = sp.coo_matrix(scores)
            dense = np.full((len(queries), n_items), -np.inf, np.float32)
            inside = coo.col < n_items
            dense[coo.row[inside], coo.col[inside]] = coo.data[inside]
            return dense
        dense = np.array(scores, copy=True) if not scores.flags.writeable else scores
        if dense.shape[1] != n_items:
            fitted = np.full((len(queries), n_items), -np.inf, dense.dtype)
            width = min(n_items, dense.shape[1])
            fitted[:, :width] = dense[:, :width]
            dense = fitted
        dense[np.isnan(dense)] = -np.inf
        return dense
    dense = np.full((len(queries), n_items), -np.inf, np.float32)
    for row, (ids, values) in enumerate(model.recommend(queries)):
        inside = (ids >= 0) & (ids < n_items)
        dense[row, ids[inside]] = np.nan_to_num(values[inside], nan=-np.inf)
    return dense


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the indices of the k highest finite scores, best first (ties by lower index), -1 padded."""
    n_rows, n_cols = scores.shape
    width = min(k, n_cols)
    if width == 0:
        return np.full((n_rows, k), -1, np.int32)
    if width < n_cols:
        # Row by row: numpy's 1-D argpartition is vectorised, the 2-D one is not (measured 3x faster).
        negated = np.negative(scores)
        picked = np.empty((n_rows, width), np.intp)
        for row in range(n_rows):
            picked[row] = np.argpartition(negated[row], width - 1)[:width]
        picked.sort(axis=1)
    else:
        picked = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    values = np.take_along_axis(scores, picked, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    best = np.take_along_axis(picked, order, axis=1).astype(np.int32)
    best[~np.isfinite(np.take_along_axis(values, order, axis=1))] = -1
    out = np.full((n_rows, k), -1, np.int32)
    out[:, :width] = best
    return out


def fill_with_popular(ranked: np.ndarray, popular: np.ndarray, exclude: sp.csr_matrix | None) -> None:
    """Complete rows that have fewer than K items (-1 slots) with the most popular items neither chosen
    nor excluded for that row, in place."""
    k = ranked.shape[1]
    for row in np.flatnonzero((ranked < 0).any(axis=1)):
        taken = set(ranked[row][ranked[row] >= 0].tolist())
        if exclude is not None:
            taken.update(exclude.indices[exclude.indptr[row] : exclude.indptr[row + 1]].tolist())
        chosen = [i for i in ranked[row] if i >= 0]
        for item in popular[: k + len(taken)].tolist():
            if len(chosen) == k:
                break
            if item not in taken:
                chosen.append(item)
                taken.add(item)
        ranked[row] = chosen + [-1] * (k - len(chosen))
