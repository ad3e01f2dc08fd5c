"""Tiny hand-made interaction sets for the evaluation and baseline tests."""

from __future__ import annotations

import numpy as np

from recoms.recommenders.base import PURCHASE, Interactions


def interactions(
    rows: list[tuple], n_users: int | None = None, n_items: int | None = None
) -> Interactions:
    """Rows of (user, item, ts[, kind[, basket]]): kind defaults to a purchase, basket to -1."""
    user = np.array([r[0] for r in rows], np.int32)
    item = np.array([r[1] for r in rows], np.int32)
    ts = np.array([r[2] for r in rows], np.int64)
    kind = np.array([r[3] if len(r) > 3 else PURCHASE for r in rows], np.int8)
    basket = np.array([r[4] if len(r) > 4 else -1 for r in rows], np.int64)
    return Interactions(
        user, item, kind, ts, np.ones(len(rows), np.float32), basket,
        n_users if n_users is not None else int(user.max()) + 1,
        n_items if n_items is not None else int(item.max()) + 1,
    )


def pairs(matrix, rows=None) -> set[tuple[int, int]]:
    """The (row, column) pairs stored in a sparse matrix."""
    coo = matrix.tocoo()
    return {(int(r), int(c)) for r, c in zip(coo.row, coo.col, strict=True) if rows is None or r in rows}
