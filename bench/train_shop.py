"""A large synthetic shop for the training benchmark: 100,000 products and 1,000,000 product events.

The demo generator (`recoms.demo_data`) plays shoppers one by one in Python and writes tracker envelopes:
right for the demo, far too slow at this size (about 40 s per 50,000 events over 100,000 products). This
one draws whole arrays with numpy from one seed, with the demo's category tree and the same kinds of
structure, so every algorithm has something to find and a realistic amount of work:
- popularity Zipf-like within each leaf, uneven traffic across leaves (bestsellers);
- sessions compare products of one leaf at a similar price (similar: co-views);
- checkouts often add the product's planted complement (also_bought, cross_sell);
- consumables are bought again by the same contact (personal's repeat part);
- each contact prefers a few leaves and its activity is heavy-tailed (personal's discovery).
`generate()` returns arrays; `load_store()` writes them into a store's `products` and `interactions`
tables in bulk (the tracking path is measured by bench/ingest.py, not here). Same seed, same shop.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import numpy as np

from recoms import demo_catalog_words as words

VIEW, CART, PURCHASE, WISHLIST = 1, 2, 3, 4
DAY_MS = 86_400_000
HISTORY_DAYS = 60
NOW_MS = 1_800_000_000_000


@dataclass
class Shop:
    product_ids: list[str]
    leaf: np.ndarray  # int, product -> leaf number (index into LEAVES)
    brand: list[str]
    name: list[str]
    price: np.ndarray
    in_stock: np.ndarray
    contact: np.ndarray  # per event: contact number
    item: np.ndarray  # per event: product number
    kind: np.ndarray
    ts: np.ndarray
    order: np.ndarray  # per event: order number, -1 for no purchase
    quantity: np.ndarray


LEAVES = list(words.LEAF_SPECS)


def _catalog(rng: np.random.Generator, n_products: int):
    n_leaves = len(LEAVES)
    weights = rng.uniform(0.5, 1.5, n_leaves)
    counts = 8 + rng.multinomial(n_products - 8 * n_leaves, weights / weights.sum())
    leaf = np.repeat(np.arange(n_leaves), counts)
    # Within a leaf: a random popularity rank and a lognormal price around the leaf's median.
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.concatenate([rng.permutation(c) + 1 for c in counts])
    popularity = rank ** -1.3
    median = np.array([words.LEAF_SPECS[leaf_name].median_price for leaf_name in LEAVES])[leaf]
    price = np.round(median * rng.lognormal(0, 0.35, n_products), 0) + 0.99
    in_stock = rng.random(n_products) >= 0.08
    return leaf, counts, starts, popularity, price, in_stock


def _names(rng: np.random.Generator, leaf: np.ndarray) -> tuple[list[str], list[str]]:
    brands, names = [], []
    codes = rng.integers(1, 1000, len(leaf))
    pick = rng.random((len(leaf), 2))
    for i, leaf_number in enumerate(leaf.tolist()):
        top, _mid, leaf_name = words.LEAF_PATHS[LEAVES[leaf_number]]
        brand_list, adjectives = words.BRANDS[top], words.ADJECTIVES[top]
        brand = brand_list[int(pick[i, 0] * len(brand_list))]
        adjective = adjectives[int(pick[i, 1] * len(adjectives))]
        brands.append(brand)
        names.append(f"{brand} {adjective} {words.LEAF_SPECS[leaf_name].noun} {codes[i]}")
    return brands, names


def _leaf_traffic(rng: np.random.Generator) -> np.ndarray:
    traffic = []
    for leaf_name in LEAVES:
        top, mid, _ = words.LEAF_PATHS[leaf_name]
        weight = words.TOP_CATEGORY_TRAFFIC[top] / len(words.CATEGORY_TREE[top][mid])
        if leaf_name in words.COMPLEMENT_LEAVES:
            weight *= 1.5
        elif leaf_name in words.COMPLEMENTS_ONLY:
            weight *= 0.6
        traffic.append(weight)
    traffic = np.array(traffic) * rng.lognormal(0, 0.4, len(LEAVES))
    return traffic / traffic.sum()


def _draw_in_leaf(rng, leaf_of_draw, cum, starts, counts) -> np.ndarray:
    """One product per draw, in the given leaf, by popularity (cum: popularity cumsum, leaf by leaf)."""
    base = np.where(starts > 0, cum[starts - 1], 0.0)
    total = cum[starts + counts - 1] - base
    target = base[leaf_of_draw] + rng.random(len(leaf_of_draw)) * total[leaf_of_draw]
    found = np.searchsorted(cum, target, side="right")
    return np.minimum(found, starts[leaf_of_draw] + counts[leaf_of_draw] - 1)


def generate(n_products: int = 100_000, n_events: int = 1_000_000, n_contacts: int = 60_000, seed: int = 7) -> Shop:
    rng = np.random.default_rng(seed)
    leaf, counts, starts, popularity, price, in_stock = _catalog(rng, n_products)
    cum = np.cumsum(popularity)
    # Products of each leaf by price, for "similar price" alternatives: position of each product in it.
    by_price = np.lexsort((price, leaf))
    price_pos = np.empty(n_products, np.int64)
    price_pos[by_price] = np.arange(n_products)
    # Complements: each product of a complement leaf pairs with one product of each of its leaves.
    complement = np.full(n_products, -1, np.int64)
    for leaf_name, others in words.COMPLEMENT_LEAVES.items():
        mine = np.flatnonzero(leaf == LEAVES.index(leaf_name))
        other = np.array([LEAVES.index(o) for o in others])[rng.integers(0, len(others), len(mine))]
        complement[mine] = _draw_in_leaf(rng, other, cum, starts, counts)
    traffic = _leaf_traffic(rng)
    favourites = rng.choice(len(LEAVES), (n_contacts, 3), p=traffic)
    activity = rng.lognormal(0, 0.9, n_contacts)

    n_sessions = int(n_events / 5.0) + 1000  # ~5.4 events a session: enough, the tail is cut
    who = rng.choice(n_contacts, n_sessions, p=activity / activity.sum())
    fav = rng.random(n_sessions) < 0.85
    s_leaf = np.where(fav, favourites[who, rng.integers(0, 3, n_sessions)], rng.choice(len(LEAVES), n_sessions,
                                                                                      p=traffic))
    start = NOW_MS - HISTORY_DAYS * DAY_MS + rng.integers(0, HISTORY_DAYS * DAY_MS - 3_600_000, n_sessions)
    n_views = rng.integers(2, 9, n_sessions)
    anchor = _draw_in_leaf(rng, s_leaf, cum, starts, counts)
    # Views: the anchor and products near its price in the same leaf.
    session_of_view = np.repeat(np.arange(n_sessions), n_views)
    step = np.arange(len(session_of_view)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
    offset = np.where(step == 0, 0, np.round(rng.normal(0, 4, len(step))).astype(np.int64))
    lo, hi = starts[s_leaf[session_of_view]], starts[s_leaf[session_of_view]] + counts[s_leaf[session_of_view]] - 1
    viewed = by_price[np.clip(price_pos[anchor[session_of_view]] + offset, lo, hi)]
    events = [(who[session_of_view], viewed, np.full(len(viewed), VIEW), start[session_of_view] + step * 60_000,
               np.full(len(viewed), -1))]
    # Carts and orders: the anchor (when in stock) and often its complement.
    shops = (rng.random(n_sessions) < 0.55) & in_stock[anchor]
    with_comp = shops & (complement[anchor] >= 0) & (rng.random(n_sessions) < 0.85)
    checkout = shops & (rng.random(n_sessions) < 0.8)
    order_no = np.full(n_sessions, -1)
    order_no[checkout] = np.arange(int(checkout.sum()))
    end = start + n_views * 60_000
    for picked, extra in ((shops, 0), (with_comp, 1)):
        s = np.flatnonzero(picked)
        product = anchor[s] if extra == 0 else complement[anchor[s]]
        t = end[s] + (1 + extra) * 60_000
        events.append((who[s], product, np.full(len(s), CART), t, np.full(len(s), -1)))
        bought = checkout[s]
        events.append((who[s][bought], product[bought], np.full(int(bought.sum()), PURCHASE), t[bought] + 300_000,
                       order_no[s][bought]))
    wish = np.flatnonzero(rng.random(n_sessions) < 0.08)
    events.append((who[wish], anchor[wish], np.full(len(wish), WISHLIST), end[wish], np.full(len(wish), -1)))
    contact, item, kind, ts, order = (np.concatenate(parts) for parts in zip(*events, strict=True))
    # Consumables come back: a later order of the same product by the same contact, about on its cycle.
    cycle = np.array([words.LEAF_SPECS[name].repurchase_days for name in LEAVES])[leaf[item]]
    again = (kind == PURCHASE) & (cycle > 0) & (rng.random(len(kind)) < 0.8)
    when = ts[again] + (cycle[again] * rng.lognormal(0, 0.2, int(again.sum())) * DAY_MS).astype(np.int64)
    fits = when < NOW_MS
    n_again = int(fits.sum())
    refill_orders = order.max(initial=-1) + 1 + np.arange(n_again)
    contact = np.concatenate([contact, contact[again][fits], contact[again][fits]])
    item = np.concatenate([item, item[again][fits], item[again][fits]])
    kind = np.concatenate([kind, np.full(n_again, VIEW), np.full(n_again, PURCHASE)])
    ts = np.concatenate([ts, when[fits] - 120_000, when[fits]])
    order = np.concatenate([order, np.full(n_again, -1), refill_orders])
    keep = np.argsort(ts, kind="stable")[:n_events]
    keep.sort()
    quantity = np.where(kind[keep] == PURCHASE, rng.integers(1, 3, len(keep)), 1)
    brands, names = _names(rng, leaf)
    return Shop([f"P{10001 + i}" for i in range(n_products)], leaf, brands, names, price, in_stock,
                contact[keep], item[keep], kind[keep], ts[keep], order[keep], quantity)


def load_store(shop: Shop, sqlite_path: str, account_id: int) -> None:
    """Products and interactions, as the ingestion would have written them (contacts numbered from 1)."""
    db = sqlite3.connect(sqlite_path)
    created = NOW_MS - 90 * DAY_MS
    paths = [json.dumps(list(words.LEAF_PATHS[name])) for name in LEAVES]
    db.executemany(
        "INSERT INTO products (account_id, id, name, url, price, descr, brand, category, in_stock, tags, available,"
        " feed_seen_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', 1, NULL, ?, ?)",
        ((account_id, pid, shop.name[i], f"https://shop.example/p/{pid}", float(shop.price[i]), shop.name[i],
          shop.brand[i], paths[shop.leaf[i]], bool(shop.in_stock[i]), created, created)
         for i, pid in enumerate(shop.product_ids)),
    )
    n_contacts = int(shop.contact.max()) + 1
    db.executemany("INSERT INTO contacts (id, account_id, merged_into, attributes, created_at, updated_at)"
                   " VALUES (?, ?, NULL, '{}', ?, ?)",
                   ((c + 1, account_id, created, created) for c in range(n_contacts)))
    ids = shop.product_ids
    rows = zip(shop.contact.tolist(), shop.kind.tolist(), shop.item.tolist(), shop.ts.tolist(),
               shop.quantity.tolist(), shop.order.tolist(), strict=True)
    db.executemany(
        "INSERT INTO interactions (account_id, contact_id, kind, product_id, ts, quantity, order_number)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((account_id, c + 1, k, ids[i], t, float(q), f"B{o}" if o >= 0 else None) for c, k, i, t, q, o in rows),
    )
    db.commit()
    db.close()
