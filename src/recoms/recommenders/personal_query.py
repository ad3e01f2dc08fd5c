"""One personal request as vectors: the contact's history scored without building matrices.

A request is one query. `personal._Parts` scores a batch as sparse matrices (tuning, offline
evaluation), which costs a few dozen scipy objects per call whatever the batch size; here the same
parts are (item ids, scores) vectors computed with the very float32 operations, in the same order,
that the batch applies to a row, so a request's candidates equal its row of a batch:
- repeated events add up in event order (`summed_rows`, which the batch uses too);
- the item-item model multiplies the history's rows through (`ItemModel.score_one`);
- two parts blend as scipy adds two rows: a*x + b*y where both have the item, the one alone elsewhere,
  exact zeros dropped (`blend`); each part is scaled by its peak as `_row_normalised` does (`normalised`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recoms.recommenders.base import EMPTY, PURCHASE, Candidates, Query, sum_by_item

Vector = tuple[np.ndarray, np.ndarray]  # (item ids int32, scores float32)


def summed_rows(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events as canonical CSR arrays (indptr, indices, data): a (row, item)'s weights added up in event
    order, whatever the other rows hold, so one query alone sums exactly as within a batch."""
    # Stable: an item's events keep their order (one row: the same order as sorting by (row, item)).
    order = np.argsort(cols, kind="stable") if n_rows == 1 else np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    data = np.zeros(int(first.sum()), np.float32)
    np.add.at(data, np.cumsum(first) - 1, vals)  # in order, from zero
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(rows[first], minlength=n_rows), out=indptr[1:])
    return indptr, cols[first].astype(np.int32, copy=False), data


def events(model: Any, q: Query, kinds: dict[int, float], p: dict[str, Any]) -> Vector:
    """The query's weighted events, summed per item (ids ascending)."""
    items, w = model.weighted_events(q, kinds, p)
    if len(items) == 0:
        return EMPTY
    _indptr, ids, vals = summed_rows(np.zeros(len(items), np.int64), items, w, 1)
    return ids, vals


def normalised(v: Vector) -> Vector:
    """`personal._row_normalised` on one row: negatives and zeros out, divided by the peak."""
    ids, vals = v
    keep = vals > 0
    if not keep.all():
        ids, vals = ids[keep], vals[keep]
    if len(vals) == 0:
        return EMPTY
    return ids, vals / vals.max()


def blend(a: Vector, wa: float, b: Vector, wb: float, n: int) -> Vector:
    """a * wa + b * wb over n items, as scipy adds two scaled sparse rows (a + b, a alone or b alone,
    exact zeros dropped)."""
    if len(a[0]) + len(b[0]) > n // 16:  # long rows: one vector over the items beats sorting them
        out = np.zeros(n, np.float32)
        out[a[0]] = a[1] * wa
        out[b[0]] += b[1] * wb
        ids = np.flatnonzero(out).astype(np.int32)
        return ids, out[ids]
    ids, vals = sum_by_item(np.concatenate([a[0], b[0]]), np.concatenate([a[1] * wa, b[1] * wb]))
    keep = vals != 0
    return (ids[keep], vals[keep]) if not keep.all() else (ids, vals)


def one_query(model: Any, q: Query, p: dict[str, Any]) -> Candidates:
    """`Personal.recommend` of one query: its row of `_Parts.blend`, as vectors."""
    n = model.model.n_items
    activity = events(model, q, model._kind_weights(p), p)
    scores = EMPTY
    if len(activity[0]):
        scores = normalised(model.model.score_one(activity[0], np.minimum(activity[1], 1.0), positive=True))
    r, nw = float(p["repeat_weight"]), float(p["neighbour_weight"])
    if p["exclude_purchased"] and nw <= 0:
        r = 0.0  # the contact's own purchases are all left out: without neighbours, no repeat part
    if r > 0:
        own = events(model, q, {PURCHASE: 1.0}, p)
        repeat = own
        power = float(p["propensity_power"])
        if power > 0 and len(own[0]):
            repeat = own[0], own[1] * model.propensity[own[0]] ** power
        repeat = normalised(repeat)
        if nw > 0:
            repeat = normalised(blend(repeat, 1 - nw, _neighbours(model, own, int(p["neighbour_count"])), nw, n))
        scores = blend(scores, 1 - r, repeat, r, n)
    pw = float(p["popularity_weight"])
    if pw > 0:
        scores = blend(scores, 1 - pw, model.popular_top(float(p["popularity_half_life_days"])), pw, n)
    if len(scores[0]) == 0:
        return EMPTY
    return scores[0].astype(np.int32, copy=False), scores[1].astype(np.float32, copy=False)


def _neighbours(model: Any, own: Vector, k: int) -> Vector:
    """The similar contacts' mean vector (TIFU-KNN), as `NeighbourPool.smooth` makes the row."""
    return normalised(model.pool.smooth_one(own[0], own[1], k))
