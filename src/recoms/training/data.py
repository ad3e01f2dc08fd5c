"""From the store to the recommenders' input: the catalog and interactions as dense-index arrays.

This is the one boundary where external ids (product ids, contact ids) become indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from recoms.recommenders.base import Interactions
from recoms.recommenders.catalog import Catalog
from recoms.store import activity, claims, products
from recoms.store.db import now_ms

DAY_MS = 86_400_000
CHUNK_ROWS = 50_000  # rows fetched at a time, turned into columns at once


@dataclass
class TrainingData:
    catalog: Catalog
    interactions: Interactions
    contact_ids: np.ndarray  # user index -> contact id, -1 for an anonymous order or cart
    watermark: int  # newest interaction time


def load_catalog(conn: sa.Connection, account_id: int, order: list[str] | None = None,
                 fragments: bool = True) -> Catalog:
    """The account's catalog; `fragments=False` (training) skips the serving-ready JSON of each product."""
    rows = (
        (products.to_product(r), bool(r.available), int(r.created_at))
        for r in products.iter_products(conn, account_id)
    )
    return Catalog.ordered(rows, order or [], fragments)


def load(conn: sa.Connection, account_id: int, window_days: int) -> TrainingData:
    catalog = load_catalog(conn, account_id, fragments=False)
    since = now_ms() - window_days * DAY_MS
    # A visitor who claimed to be a customer (with only the public site id) is learned from as that
    # customer; serving never does this (it reads each contact's own rows).
    claimed = claims.training_map(conn, account_id)
    parts = [list(zip(*part, strict=True))
             for part in activity.iter_interactions(conn, account_id, since).partitions(CHUNK_ROWS)]
    contact, product, kind, ts, quantity, order = (
        [value for part in parts for value in part[column]] for column in range(6)) if parts else ([],) * 6
    del parts
    # Products not in the catalog are kept in the store, and learned from once they are in it.
    item = pd.Index(catalog.ids).get_indexer(pd.Index(product, dtype=object)) if catalog.n else np.full(
        len(product), -1)
    keep = np.flatnonzero(item >= 0)
    contact = np.array(contact, dtype=object)[keep]
    order = np.array(order, dtype=object)[keep]
    has_order = pd.notna(order) & (order != "")
    # Users in order of first appearance: a contact (or the customer it claimed to be); an anonymous
    # order is a one-off customer of its own, an anonymous cart line too.
    anonymous = pd.isna(contact)
    who = contact.copy()
    if claimed:
        who[~anonymous] = [claimed.get(c, c) for c in who[~anonymous]]
    who[anonymous & has_order] = ["order:" + str(o) for o in order[anonymous & has_order]]
    who[anonymous & ~has_order] = [f"row:{i}" for i in np.flatnonzero(anonymous & ~has_order)]
    users, user_keys = pd.factorize(who, sort=False)
    basket = np.full(len(keep), -1, np.int64)
    if has_order.any():
        basket[has_order] = pd.factorize(order[has_order], sort=False)[0]
    qty = np.array(quantity, np.float64)[keep] if len(keep) else np.zeros(0)
    inter = Interactions(
        users.astype(np.int32), item[keep].astype(np.int32), np.array(kind, np.int8)[keep] if len(keep) else
        np.zeros(0, np.int8), np.array(ts, np.int64)[keep] if len(keep) else np.zeros(0, np.int64),
        np.where(np.isnan(qty) | (qty == 0), 1.0, qty).astype(np.float32), basket, len(user_keys), catalog.n,
    )
    contact_ids = np.array([k if isinstance(k, int) else -1 for k in user_keys], np.int64)
    watermark = int(inter.ts.max()) if len(inter) else 0
    return TrainingData(catalog, inter, contact_ids, watermark)
