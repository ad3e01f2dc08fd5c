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
    if len(pool) <= 8:
        found = np.zeros(len(values), bool)
        for p in pool:
            found |= values == p
        return found
    return np.isin(values, pool)


def context_prices(items: Items, context: np.ndarray) -> np.ndarray:
    prices = items.price[context[context < items.n]]
    return prices[np.isfinite(prices) & (prices > 0)]


def price_band(items: Items, context: np.ndarray, min_pct: float, max_pct: float) -> Check | None:
    """Priced within [min_pct, max_pct] % of any context product's price; None: no priced context."""
    prices = context_prices(items, context)
    if len(prices) == 0:
        return None
    lows, highs = prices * (min_pct / 100.0) - 1e-6, prices * (max_pct / 100.0) + 1e-6

    def check(ids: np.ndarray) -> np.ndarray:
        price = items.price[ids][:, None]
        return ((price >= lows[None, :]) & (price <= highs[None, :])).any(axis=1)

    return check


def context_leaves(items: Items, context: np.ndarray) -> np.ndarray:
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
