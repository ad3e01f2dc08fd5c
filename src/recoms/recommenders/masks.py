"""Checks over candidate items, shared by algorithms and rules: price bands, categories, exclusions.

A check takes candidate item indices and says which of them qualify. Requests evaluate checks on
their candidates only, so their cost follows the candidates, not the size of the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from recoms.recommenders.base import Items

Check = Callable[[np.ndarray], np.ndarray]


def member(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """values ∈ pool; a few comparisons beat np.isin's sort for the short pools requests carry."""
    if len(pool) == 1:
        return values == pool[0]
    if len(pool) <= 8:
        found = np.zeros(len(values), bool)
        for p in pool:
            found |= values == p
        return found
    # Codes and indices (a pool never negative): a table up to the pool's largest beats np.isin's sorts.
    top = int(pool.max())
    table = np.zeros(top + 2, bool)
    table[pool] = True
    return table[np.minimum(values, top + 1)]  # beyond the pool (or -1, no code): the last slot, False


def context_prices(items: Items, context: np.ndarray) -> np.ndarray:
    if len(context) == 1:  # the common request: one product, no masks to build
        c = int(context[0])
        price = items.price[c] if c < items.n else np.nan
        return items.price[c:c + 1] if 0 < price < np.inf else items.price[:0]  # not nan, not inf
    prices = items.price[context[context < items.n]]
    return prices[np.isfinite(prices) & (prices > 0)]


def price_band(items: Items, context: np.ndarray, min_pct: float, max_pct: float) -> Check | None:
    """Priced within [min_pct, max_pct] % of any context product's price; None: no priced context."""
    prices = context_prices(items, context)
    if len(prices) == 0:
        return None
    lows, highs = prices * (min_pct / 100.0) - 1e-6, prices * (max_pct / 100.0) + 1e-6
    if len(prices) == 1:
        low, high = lows[0], highs[0]

        def one(ids: np.ndarray) -> np.ndarray:
            price = items.price[ids]
            return (price >= low) & (price <= high)

        return one

    def check(ids: np.ndarray) -> np.ndarray:
        price = items.price[ids][:, None]
        return ((price >= lows[None, :]) & (price <= highs[None, :])).any(axis=1)

    return check


def context_leaves(items: Items, context: np.ndarray) -> np.ndarray:
    if len(context) == 1:
        c = int(context[0])
        return items.leaf_category[c:c + 1] if c < items.n and items.leaf_category[c] >= 0 else items.leaf_category[:0]
    leaves = items.leaf_category[context[context < items.n]]
    return np.unique(leaves[leaves >= 0])


def in_leaves(items: Items, leaves: np.ndarray, inside: bool = True) -> Check:
    def check(ids: np.ndarray) -> np.ndarray:
        found = member(items.leaf_category[ids], leaves)
        return found if inside else ~found

    return check


def excluding(items_out: np.ndarray) -> Check:
    return lambda ids: ~member(ids, items_out)


def from_mask(mask: np.ndarray) -> Check:
    return lambda ids: mask[ids]


def all_of(checks: Sequence[Check | None]) -> Check | None:
    real = [c for c in checks if c is not None]
    if not real:
        return None
    if len(real) == 1:
        return real[0]

    def check(ids: np.ndarray) -> np.ndarray:
        ok = real[0](ids)
        for c in real[1:]:
            ok &= c(ids)
        return ok

    return check
