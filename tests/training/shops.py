"""Hand-made shops as interaction arrays: customers who buy the same things again, or never."""

from __future__ import annotations

import numpy as np

from recoms.recommenders.base import PURCHASE, VIEW, Interactions, Items

DAY = 86_400_000


def build(rows: list[tuple[int, int, int, int, int]], n_items: int) -> tuple[Interactions, Items]:
    """rows of (user, item, day, kind, order): order -1 for events that are no purchase."""
    arr = np.array(rows, np.int64).reshape(-1, 5)
    inter = Interactions(arr[:, 0].astype(np.int32), arr[:, 1].astype(np.int32), arr[:, 3].astype(np.int8),
                         1_700_000_000_000 + arr[:, 2] * DAY, np.ones(len(arr), np.float32), arr[:, 4],
                         int(arr[:, 0].max()) + 1, n_items)
    return inter, Items.bare(n_items)


def rebuyers(n_users: int = 60, n_items: int = 40, orders: int = 6, seed: int = 0) -> tuple[Interactions, Items]:
    """Each customer has three staples bought in every weekly order, plus one item tried once per order."""
    rng = np.random.default_rng(seed)
    rows, order = [], 0
    for u in range(n_users):
        staples = rng.choice(n_items, 3, replace=False)
        for o in range(orders):
            for item in (*staples, rng.integers(n_items)):
                rows.append((u, int(item), 7 * o, PURCHASE, order))
            order += 1
    return build(rows, n_items)


def discoverers(n_users: int = 60, n_groups: int = 8, per_group: int = 6, seed: int = 0
                ) -> tuple[Interactions, Items]:
    """Each customer furnishes one room: the items of one group, one by one, never the same twice."""
    rng = np.random.default_rng(seed)
    rows, order = [], 0
    for u in range(n_users):
        group = u % n_groups
        for day, item in enumerate(rng.permutation(per_group)[:4]):
            rows.append((u, group * per_group + int(item), 30 * day, VIEW, -1))
            rows.append((u, group * per_group + int(item), 30 * day, PURCHASE, order))
            order += 1
    return build(rows, n_groups * per_group)


def viewers(n_users: int = 80, n_groups: int = 8, per_group: int = 6, seed: int = 0) -> tuple[Interactions, Items]:
    """A shop that only knows views: each visitor browses the items of one group, one every other day."""
    rng = np.random.default_rng(seed)
    rows = [(u, (u % n_groups) * per_group + int(item), 2 * day, VIEW, -1)
            for u in range(n_users) for day, item in enumerate(rng.permutation(per_group))]
    return build(rows, n_groups * per_group)
