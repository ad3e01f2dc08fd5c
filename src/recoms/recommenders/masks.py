"""Masks over items shared by algorithms and rules: price bands and categories of the context."""

from __future__ import annotations

import numpy as np

from recoms.recommenders.base import Items


def price_band(items: Items, context: np.ndarray, min_pct: float, max_pct: float) -> np.ndarray | None:
    """Items priced within [min_pct, max_pct] % of any context product's price; None: no priced context."""
    context = context[context < items.n]
    prices = items.price[context]
    prices = prices[np.isfinite(prices) & (prices > 0)]
    if len(prices) == 0:
        return None
    lows, highs = prices * (min_pct / 100.0) - 1e-6, prices * (max_pct / 100.0) + 1e-6
    if len(prices) == 1:
        return (items.price >= lows[0]) & (items.price <= highs[0])
    price = items.price[:, None]
    return ((price >= lows[None, :]) & (price <= highs[None, :])).any(axis=1)


def context_leaves(items: Items, context: np.ndarray) -> np.ndarray:
    leaves = items.leaf_category[context[context < items.n]]
    return np.unique(leaves[leaves >= 0])


def in_leaves(items: Items, leaves: np.ndarray) -> np.ndarray:
    if len(leaves) == 1:
        return items.leaf_category == leaves[0]
    return np.isin(items.leaf_category, leaves)
