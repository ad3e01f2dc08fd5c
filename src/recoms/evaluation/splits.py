"""Evaluation protocols: which interactions are held out, what is ranked, and what counts as a hit.

Every protocol yields two folds. The validation fold trains on everything but the validation and test
rows, and is where parameters are tuned; the test fold trains on everything but the test rows (train +
validation) and is scored once. Test items never seen in a fold's training data are dropped, and queries
left with no target are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recoms.recommenders.base import PURCHASE, Interactions

PROTOCOLS = ("leave_last_out", "random_80_20", "last_basket_repeat", "last_basket_new", "basket_completion")
MIN_HISTORY = 3  # interactions (or orders) a user needs to give one to test and one to validation


@dataclass
class Fold:
    """The training data of one fold and its queries: one per user, or one per basket to complete."""

    train: Interactions
    users: np.ndarray  # int32, the user of each query
    targets: sp.csr_matrix  # queries x items: the held-out items that count as hits
    exclude: sp.csr_matrix  # queries x items: items kept out of the ranking
    contexts: list[np.ndarray] | None = None  # basket completion: the visible items (and no history)

    def __len__(self) -> int:
        return len(self.users)

    def train_items(self) -> np.ndarray:
        """Bool per item: seen in training, hence ranked (full ranking over every training item)."""
        return np.bincount(self.train.item, minlength=self.train.n_items) > 0


def split(data: Interactions, protocol: str, seed: int = 0) -> tuple[Fold, Fold]:
    """(validation fold, test fold) of `protocol`, seeded where it draws at random."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if protocol == "leave_last_out":
        validation, test = _leave_last_out(data)
    elif protocol == "random_80_20":
        rng = np.random.default_rng(seed)
        test = _random_share(data.user, np.ones(len(data), bool), rng, data.n_users)
        validation = _random_share(data.user, ~test, rng, data.n_users)
    else:
        validation, test = _last_baskets(data)
    folds = []
    for step, (train, held) in enumerate([(~(validation | test), validation), (~test, test)]):
        if protocol == "basket_completion":
            folds.append(_completion_fold(data, train, held, np.random.default_rng([seed, step])))
        else:
            mode = {"last_basket_repeat": "repeat", "last_basket_new": "new"}.get(protocol, "seen")
            folds.append(_ranking_fold(data, train, held, mode))
    return folds[0], folds[1]


def _leave_last_out(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Each user's last interaction by time is test, the one before validation (file order breaks ties)."""
    order = np.lexsort((np.arange(len(data)), data.ts, data.user))
    counts = np.bincount(data.user, minlength=data.n_users)
    last = (np.cumsum(counts) - 1)[counts >= MIN_HISTORY]
    return _mask(len(data), order[last - 1]), _mask(len(data), order[last])


def _random_share(
    users: np.ndarray, pool: np.ndarray, rng: np.random.Generator, n_users: int, share: float = 0.2
) -> np.ndarray:
    """A seeded `share` of each user's rows in `pool`: at least one, for users with at least two rows."""
    rows = np.flatnonzero(pool)
    owner = users[rows]
    counts = np.bincount(owner, minlength=n_users)
    take = np.where(counts >= 2, np.maximum(1, np.round(share * counts)), 0)
    order = np.lexsort((rng.random(len(rows)), owner))
    starts = np.cumsum(counts) - counts
    position = np.arange(len(rows)) - starts[owner[order]]
    return _mask(len(users), rows[order[position < take[owner[order]]]])


def _last_baskets(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Each user's last order is test, the one before validation; orders are ordered by their first event."""
    purchase = np.flatnonzero(data.basket >= 0)
    baskets = data.basket[purchase]
    n_baskets = int(baskets.max(initial=-1)) + 1
    first_ts = np.full(n_baskets, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_ts, baskets, data.ts[purchase])
    owner = np.zeros(n_baskets, np.int64)
    owner[baskets] = data.user[purchase]
    ids = np.unique(baskets)
    ordered = ids[np.lexsort((ids, first_ts[ids], owner[ids]))]
    counts = np.bincount(owner[ids], minlength=data.n_users)
    last = (np.cumsum(counts) - 1)[counts >= MIN_HISTORY]
    in_basket = data.basket >= 0
    validation = in_basket & np.isin(data.basket, ordered[last - 1])
    test = in_basket & np.isin(data.basket, ordered[last])
    return validation, test


def _ranking_fold(data: Interactions, train_rows: np.ndarray, held: np.ndarray, mode: str) -> Fold:
    """One query per user with held-out rows.

    mode "seen": the user's training items are not ranked (nor count); "repeat": everything is ranked and
    bought-again items count; "new": the user's earlier purchases are not ranked and only first purchases count.
    """
    train = data.select(train_rows)
    known = np.bincount(train.item, minlength=data.n_items) > 0
    rows = np.flatnonzero(held)
    rows = rows[known[data.item[rows]]]
    targets = _binary(data.user[rows], data.item[rows], data.n_users, data.n_items)
    if mode == "seen":
        exclude = _binary(train.user, train.item, data.n_users, data.n_items)
    elif mode == "new":
        bought = train.kind == PURCHASE
        exclude = _binary(train.user[bought], train.item[bought], data.n_users, data.n_items)
    else:
        exclude = sp.csr_matrix((data.n_users, data.n_items), dtype=np.float32)
    targets = sp.csr_matrix(targets - targets.multiply(exclude))  # an unrankable item cannot be a target
    targets.eliminate_zeros()
    users = np.flatnonzero(targets.getnnz(axis=1) > 0).astype(np.int32)
    return Fold(train, users, sp.csr_matrix(targets[users]), sp.csr_matrix(exclude[users]))


def _completion_fold(
    data: Interactions, train_rows: np.ndarray, held: np.ndarray, rng: np.random.Generator
) -> Fold:
    """One query per held-out basket with at least two training items: one hidden, the rest the context."""
    train = data.select(train_rows)
    known = np.bincount(train.item, minlength=data.n_items) > 0
    rows = np.flatnonzero(held)
    rows = rows[known[data.item[rows]]]
    pairs = np.unique(np.stack([data.basket[rows], data.item[rows]], axis=1), axis=0)  # distinct items
    baskets, items = pairs[:, 0], pairs[:, 1]
    order = np.lexsort((rng.random(len(pairs)), baskets))  # per basket, the first is hidden
    baskets, items = baskets[order], items[order]
    starts = np.flatnonzero(np.r_[True, baskets[1:] != baskets[:-1]]) if len(baskets) else np.zeros(0, int)
    stops = np.r_[starts[1:], len(baskets)]
    big = stops - starts >= 2
    starts, stops = starts[big], stops[big]
    owner = np.zeros(int(data.basket.max(initial=-1)) + 1, np.int32)
    owner[data.basket[rows]] = data.user[rows]
    hidden = items[starts]
    contexts = [np.sort(items[s + 1 : e]).astype(np.int32) for s, e in zip(starts, stops, strict=True)]
    n = len(hidden)
    targets = _binary(np.arange(n), hidden, n, data.n_items)
    lengths = np.array([len(c) for c in contexts], np.int64)
    flat = np.concatenate(contexts) if contexts else np.zeros(0, np.int32)
    exclude = _binary(np.repeat(np.arange(n), lengths), flat, n, data.n_items)
    return Fold(train, owner[baskets[starts]], targets, exclude, contexts)


def _binary(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_rows, n_cols))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[rows] = True
    return mask
