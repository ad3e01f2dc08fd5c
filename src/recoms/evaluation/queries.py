"""Queries the way the service would build them: a user's history, or the products of a cart."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recoms.evaluation.splits import Fold
from recoms.recommenders.base import Interactions, Query


def history_queries(interactions: Interactions, users: np.ndarray, now_ms: int | None = None) -> list[Query]:
    """One query per user (index, or -1 for a user unknown here: empty history), history oldest first."""
    order = np.lexsort((interactions.ts, interactions.user))
    items, kinds, ts = interactions.item[order], interactions.kind[order], interactions.ts[order]
    counts = np.bincount(interactions.user, minlength=interactions.n_users)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    now = int(interactions.ts.max(initial=0)) if now_ms is None else now_ms
    empty = Query(now_ms=now)
    return [
        Query(
            history_items=items[bounds[u] : bounds[u + 1]], history_kinds=kinds[bounds[u] : bounds[u + 1]],
            history_ts=ts[bounds[u] : bounds[u + 1]], now_ms=now,
        )
        if 0 <= u < len(counts) else empty
        for u in users.tolist()
    ]


def context_queries(contexts: Sequence[np.ndarray], now_ms: int = 0) -> list[Query]:
    """One query per cart: the context products and no user history."""
    return [Query(context=np.asarray(c, np.int32), now_ms=now_ms) for c in contexts]


def fold_queries(fold: Fold) -> list[Query]:
    """The queries of an evaluation fold, as of the last training event."""
    now = int(fold.train.ts.max(initial=0))
    if fold.contexts is not None:
        return context_queries(fold.contexts, now)
    return history_queries(fold.train, fold.users, now)
