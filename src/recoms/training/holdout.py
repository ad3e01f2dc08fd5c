"""A shop's own newest events, held out: what training scores candidate parameters on.

- `last_orders`: each contact's last order (contacts with at least two orders) is predicted from its
  history before that order, by models fitted on everything else (personal);
- `last_days`: for shops that only know views, the last days' newly viewed items (personal);
- `completions`: in each contact's last order, one item hidden, the others the cart (also bought, cross-sell).
Rankings are scored as the service answers: the model's candidates, then the bestsellers to fill K.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recoms.evaluation.metrics import per_query
from recoms.evaluation.queries import context_queries
from recoms.evaluation.ranking import fill_with_popular
from recoms.recommenders.base import PURCHASE, Candidates, Interactions, Query, descending_key
from recoms.training.regime import order_keys

MIN_QUERIES = 20  # fewer held-out queries than this: too little data to tune
MAX_QUERIES = 2000  # a seeded sample of contacts beyond this (the figures' noise is then ~0.01)
VIEW_DAYS = 7
DAY_MS = 86_400_000


@dataclass
class Holdout:
    what: str  # said to the shop: what was held out
    train: Interactions  # what models are fitted on
    queries: list[Query]
    targets: sp.csr_matrix  # queries x items: hits
    exclude: sp.csr_matrix | None  # queries x items: never ranked (the contact's earlier purchases, a cart)

    def __len__(self) -> int:
        return len(self.queries)


def _binary(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_rows, n_cols))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _histories(train: Interactions, users: np.ndarray, before: np.ndarray) -> list[Query]:
    """One query per user: its training events before `before` (per user), oldest first."""
    slot = np.full(train.n_users, -1, np.int64)
    slot[users] = np.arange(len(users))
    rows = np.flatnonzero(slot[train.user] >= 0)
    rows = rows[train.ts[rows] < before[slot[train.user[rows]]]]
    order = rows[np.lexsort((train.ts[rows], slot[train.user[rows]]))]
    owner = slot[train.user[order]]
    bounds = np.searchsorted(owner, np.arange(len(users) + 1))
    now = int(train.ts.max(initial=0))
    return [Query(history_items=train.item[order[a:b]], history_kinds=train.kind[order[a:b]],
                  history_ts=train.ts[order[a:b]], now_ms=now) for a, b in itertools.pairwise(bounds)]


def _sample(candidates: np.ndarray, max_queries: int, seed: int) -> np.ndarray:
    if len(candidates) <= max_queries:
        return candidates
    return np.sort(np.random.default_rng(seed).choice(candidates, max_queries, replace=False))


def _finish(what: str, train: Interactions, users: np.ndarray, before: np.ndarray, targets: sp.csr_matrix,
            exclude: sp.csr_matrix | None) -> Holdout | None:
    """Drop unrankable targets (items unknown to training, excluded ones) and queries left without any."""
    known = np.bincount(train.item, minlength=train.n_items) > 0
    targets = sp.csr_matrix(targets @ sp.diags(known.astype(np.float32)))
    if exclude is not None:
        targets = sp.csr_matrix(targets - targets.multiply(exclude))
    targets.eliminate_zeros()
    keep = np.diff(targets.indptr) > 0
    if keep.sum() < MIN_QUERIES:
        return None
    users, before = users[keep], before[keep]
    return Holdout(what.format(n=int(keep.sum())), train, _histories(train, users, before),
                   sp.csr_matrix(targets[keep]), None if exclude is None else sp.csr_matrix(exclude[keep]))


def last_orders(inter: Interactions, bought_again: bool, max_queries: int = MAX_QUERIES, seed: int = 0
                ) -> Holdout | None:
    """Each sampled contact's last order, from its history before it (None: too few contacts to tell).

    bought_again: items bought before count (and are ranked); else only first purchases count, and the
    contact's earlier purchases are not ranked (as personal leaves them out).
    """
    keys = order_keys(inter)
    rows = np.flatnonzero(keys >= 0)
    if len(rows) == 0:
        return None
    order_ids, inverse = np.unique(keys[rows], return_inverse=True)
    started = np.full(len(order_ids), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(started, inverse, inter.ts[rows])
    owner = np.zeros(len(order_ids), np.int64)
    owner[inverse] = inter.user[rows]
    by_contact = np.lexsort((order_ids, started, owner))
    counts = np.bincount(owner, minlength=inter.n_users)
    last = by_contact[np.cumsum(counts)[counts > 0] - 1]  # each contact's last order
    last = last[counts[owner[last]] >= 2]
    last = _sample(last, max_queries, seed)
    if len(last) < MIN_QUERIES:
        return None
    held_order = np.zeros(len(order_ids), bool)
    held_order[last] = True
    held = np.zeros(len(inter), bool)
    held[rows] = held_order[inverse]
    train = inter.select(~held)
    users = owner[last]
    slot = np.full(inter.n_users, -1, np.int64)
    slot[users] = np.arange(len(users))
    targets = _binary(slot[inter.user[held]], inter.item[held], len(users), inter.n_items)
    exclude = None
    if not bought_again:
        earlier = (train.kind == PURCHASE) & (slot[train.user] >= 0)
        exclude = _binary(slot[train.user[earlier]], train.item[earlier], len(users), inter.n_items)
    what = "each contact's last order ({n} contacts" + (")" if bought_again else ", first-time purchases)")
    return _finish(what, train, users, started[last], targets, exclude)


def last_days(inter: Interactions, days: int = VIEW_DAYS, max_queries: int = MAX_QUERIES, seed: int = 0
              ) -> Holdout | None:
    """For shops that only know views: items newly viewed in the last `days`, from the history before."""
    if len(inter) == 0:
        return None
    start = int(inter.ts.max()) - days * DAY_MS
    held = inter.ts >= start
    train = inter.select(~held)
    before = np.bincount(train.user, minlength=inter.n_users) > 0
    users = _sample(np.flatnonzero(before & (np.bincount(inter.user[held], minlength=inter.n_users) > 0)),
                    max_queries, seed)
    slot = np.full(inter.n_users, -1, np.int64)
    slot[users] = np.arange(len(users))
    mine = held & (slot[inter.user] >= 0)
    targets = _binary(slot[inter.user[mine]], inter.item[mine], len(users), inter.n_items)
    seen = slot[train.user] >= 0
    exclude = _binary(slot[train.user[seen]], train.item[seen], len(users), inter.n_items)
    return _finish(f"items newly viewed in the last {days} days ({{n}} contacts)", train, users,
                   np.full(len(users), start, np.int64), targets, exclude)


def completions(inter: Interactions, max_queries: int = MAX_QUERIES, seed: int = 0) -> Holdout | None:
    """In each sampled contact's last order of two items or more, one item hidden at random; the rest is the cart.

    One order per contact, as for personal: the newest orders of a shop are mostly its most frequent
    buyers' (and, in a bulk import, of one day), not its customers'.
    """
    keys = order_keys(inter)
    rows = np.flatnonzero(keys >= 0)
    pairs = np.unique(np.stack([keys[rows], inter.item[rows].astype(np.int64)]), axis=1)
    order_ids, sizes = np.unique(pairs[0], return_counts=True)
    started = np.full(int(keys.max(initial=-1)) + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(started, keys[rows], inter.ts[rows])
    owner = np.zeros(len(started), np.int64)
    owner[keys[rows]] = inter.user[rows]
    big = order_ids[sizes >= 2]
    big = big[np.lexsort((big, started[big], owner[big]))]  # by contact, then time
    last = big[np.r_[owner[big][1:] != owner[big][:-1], True]] if len(big) else big
    newest = np.sort(_sample(last, max_queries, seed))
    if len(newest) < MIN_QUERIES:
        return None
    held = np.zeros(len(inter), bool)
    held[rows] = np.isin(keys[rows], newest)
    train = inter.select(~held)
    known = np.bincount(train.item, minlength=inter.n_items) > 0
    mine = pairs[:, np.isin(pairs[0], newest) & known[pairs[1]]]
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(mine.shape[1]), mine[0]))  # per order, the first is hidden
    mine = mine[:, order]
    starts = np.flatnonzero(np.r_[True, mine[0, 1:] != mine[0, :-1]]) if mine.shape[1] else np.zeros(0, int)
    stops = np.r_[starts[1:], mine.shape[1]]
    big = stops - starts >= 2
    starts, stops = starts[big], stops[big]
    if len(starts) < MIN_QUERIES:
        return None
    n = len(starts)
    contexts = [np.sort(mine[1, s + 1:e]).astype(np.int32) for s, e in zip(starts, stops, strict=True)]
    lengths = np.array([len(c) for c in contexts], np.int64)
    targets = _binary(np.arange(n), mine[1, starts], n, inter.n_items)
    exclude = _binary(np.repeat(np.arange(n), lengths), np.concatenate(contexts), n, inter.n_items)
    return Holdout(f"one item hidden in each contact's last order ({n} orders)", train,
                   context_queries(contexts, int(train.ts.max(initial=0))), targets, exclude)


def rank(candidates: Sequence[Candidates], k: int, n_items: int, exclude: sp.csr_matrix | None,
         popular: np.ndarray) -> np.ndarray:
    """Queries x k items, best first: the candidates (ties to the lower index), then `popular` to fill K.

    Candidates are short next to the catalogue: each row is ranked on its own candidates, never on a
    dense row of every item (tuning ranks hundreds of settings).
    """
    n = len(candidates)
    ranked = np.full((n, k), -1, np.int64)
    scores = _candidate_matrix(candidates, n_items)
    if exclude is not None and scores.nnz:  # excluded items out, all rows at once
        pattern = sp.csr_matrix((np.ones(scores.nnz, np.float32), scores.indices, scores.indptr), shape=scores.shape)
        gone = sp.csr_matrix(pattern.multiply(exclude[:n]))
        if gone.nnz:
            gone.sort_indices()  # its (row, item) keys ascending: a binary search finds each candidate's
            rows = np.repeat(np.arange(n), np.diff(scores.indptr))
            keys = rows.astype(np.int64) * n_items + scores.indices
            out = np.repeat(np.arange(n, dtype=np.int64), np.diff(gone.indptr)) * n_items + gone.indices
            at = np.minimum(np.searchsorted(out, keys), len(out) - 1)
            keep = out[at] != keys
            scores = sp.csr_matrix((scores.data[keep], scores.indices[keep],
                                    np.r_[0, np.cumsum(np.bincount(rows[keep], minlength=n))]), shape=scores.shape)
    # Every row at once: one sort by (row, score descending, index), the first k of each row kept.
    lengths = np.diff(scores.indptr)
    rows = np.repeat(np.arange(n), lengths)
    ids = scores.indices.astype(np.int64)
    id_bits, row_bits = max(1, int(n_items - 1).bit_length()), max(1, int(n - 1).bit_length())
    if row_bits + 32 + id_bits <= 64:  # one integer a candidate (a row's ids are distinct: no ties)
        order = np.argsort((rows.astype(np.uint64) << np.uint64(32 + id_bits))
                           | (descending_key(scores.data) << np.uint64(id_bits)) | ids.astype(np.uint64))
    else:
        order = np.lexsort((ids, -scores.data, rows))
    position = np.arange(len(order)) - np.repeat(scores.indptr[:-1], lengths)
    first = position < k
    ranked[rows[order[first]], position[first]] = ids[order[first]]
    fill_with_popular(ranked, popular, exclude)  # short lists: the bestsellers fill them
    return ranked


def _candidate_matrix(candidates: Sequence[Candidates], n_items: int) -> sp.csr_matrix:
    """queries x items: the finite scores of each query's candidates (items outside the catalogue dropped)."""
    lengths = np.array([len(ids) for ids, _ in candidates], np.int64)
    if lengths.sum() == 0:
        return sp.csr_matrix((len(candidates), n_items), dtype=np.float32)
    ids = np.concatenate([ids for ids, _ in candidates]).astype(np.int64)
    values = np.concatenate([values for _, values in candidates]).astype(np.float32)
    rows = np.repeat(np.arange(len(candidates)), lengths)
    keep = (ids >= 0) & (ids < n_items) & np.isfinite(values)
    counts = np.bincount(rows[keep], minlength=len(candidates))
    return sp.csr_matrix((values[keep], ids[keep].astype(np.int32), np.r_[0, np.cumsum(counts)]),
                         shape=(len(candidates), n_items))


def popular_items(train: Interactions) -> np.ndarray:
    """Items by number of events, most first (items without any left out)."""
    counts = np.bincount(train.item, minlength=train.n_items)
    order = np.argsort(-counts, kind="stable")
    return order[counts[order] > 0]


def measure(candidates: Sequence[Candidates], holdout: Holdout, popular: np.ndarray, k: int = 10
            ) -> dict[str, np.ndarray]:
    """Per query HR@K, Recall@K and NDCG@K of a model's candidates on the held-out queries."""
    ranked = rank(candidates, k, holdout.train.n_items, holdout.exclude, popular)
    return per_query(ranked, holdout.targets)
