"""From the store to the recommenders' input: the catalog and interactions as dense-index arrays.

This is the one boundary where external ids (product ids, contact ids) become indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from recoms.recommenders.base import Interactions
from recoms.recommenders.catalog import Catalog
from recoms.store import activity, claims, products
from recoms.store.db import now_ms

DAY_MS = 86_400_000


@dataclass
class TrainingData:
    catalog: Catalog
    interactions: Interactions
    contact_ids: np.ndarray  # user index -> contact id, -1 for an anonymous order or cart
    watermark: int  # newest interaction time


def load_catalog(conn: sa.Connection, account_id: int, order: list[str] | None = None) -> Catalog:
    rows = (
        (products.to_product(r), bool(r.available), int(r.created_at))
        for r in products.iter_products(conn, account_id)
    )
    return Catalog.ordered(rows, order or [])


def load(conn: sa.Connection, account_id: int, window_days: int) -> TrainingData:
    catalog = load_catalog(conn, account_id)
    since = now_ms() - window_days * DAY_MS
    users: dict[object, int] = {}
    baskets: dict[str, int] = {}
    cols: dict[str, list] = {"user": [], "item": [], "kind": [], "ts": [], "quantity": [], "basket": []}
    index = catalog.index
    # A visitor who claimed to be a customer (with only the public site id) is learned from as that
    # customer; serving never does this (it reads each contact's own rows).
    claimed = claims.training_map(conn, account_id)
    for row, r in enumerate(activity.iter_interactions(conn, account_id, since)):
        item = index.get(r.product_id)
        if item is None:
            continue  # kept in the store; learned from once the product is in the catalog
        # An anonymous order is a one-off customer of its own; an anonymous cart line, of its own too.
        anonymous = ("order", r.order_number) if r.order_number else ("row", row)
        who = claimed.get(r.contact_id, r.contact_id) if r.contact_id is not None else anonymous
        cols["user"].append(users.setdefault(who, len(users)))
        cols["item"].append(item)
        cols["kind"].append(r.kind)
        cols["ts"].append(r.ts)
        cols["quantity"].append(r.quantity or 1.0)
        cols["basket"].append(baskets.setdefault(r.order_number, len(baskets)) if r.order_number else -1)
    inter = Interactions(
        np.array(cols["user"], np.int32), np.array(cols["item"], np.int32), np.array(cols["kind"], np.int8),
        np.array(cols["ts"], np.int64), np.array(cols["quantity"], np.float32), np.array(cols["basket"], np.int64),
        len(users), catalog.n,
    )
    contact_ids = np.array([who if isinstance(who, int) else -1 for who in users], np.int64)
    watermark = int(inter.ts.max()) if len(inter) else 0
    return TrainingData(catalog, inter, contact_ids, watermark)
