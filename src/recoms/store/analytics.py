"""What the analytics read: impressions and clicks by day and variant, purchase lines, and the touches
(impressions and clicks) of the products bought, each under the buyer's live contact id."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from recoms.domain.attribution import DAY_MS, Purchase, Touch
from recoms.recommenders.base import PURCHASE
from recoms.store.tables import contacts, interactions, orders, recom_events

e, i, o, k = recom_events.c, interactions.c, orders.c, contacts.c
CHUNK = 500  # ids per IN list


def event_counts(conn: sa.Connection, account_id: int, start: int, end: int,
                 ds_id: int | None = None) -> list[tuple[int, int, int, str, int]]:
    """(data source, day, variant, kind, count) of impressions and clicks in [start, end); days since the epoch."""
    day = e.ts // DAY_MS
    variant = sa.func.coalesce(e.variant_id, 0)
    query = (sa.select(e.datasource_id, day, variant, e.kind, sa.func.count())
             .where(e.account_id == account_id, e.ts >= start, e.ts < end, e.datasource_id.is_not(None))
             .group_by(e.datasource_id, day, variant, e.kind))
    if ds_id is not None:
        query = query.where(e.datasource_id == ds_id)
    return [(int(d), int(t), int(v), kind, int(n)) for d, t, v, kind, n in conn.execute(query)]


def purchases(conn: sa.Connection, account_id: int, start: int, end: int) -> list[Purchase | tuple[None, float]]:
    """Purchase lines in [start, end) of orders not cancelled, one per (order, product) with its revenue.

    Lines of anonymous orders come back as (None, revenue): they count in the shop's revenue, and can be
    credited to no one."""
    revenue = sa.func.sum(sa.func.coalesce(i.price, 0.0) * i.quantity)
    joined = interactions.outerjoin(orders, sa.and_(o.account_id == i.account_id, o.order_number == i.order_number))
    query = (sa.select(i.order_number, i.contact_id, i.product_id, sa.func.max(i.ts), revenue)
             .select_from(joined)
             .where(i.account_id == account_id, i.kind == PURCHASE, i.ts >= start, i.ts < end,
                    sa.or_(o.status.is_(None), o.status != "cancelled"))
             .group_by(i.order_number, i.contact_id, i.product_id))
    out: list[Purchase | tuple[None, float]] = []
    for number, contact_id, product_id, ts, value in conn.execute(query):
        if contact_id is None or number is None or product_id is None:
            out.append((None, float(value or 0.0)))
        else:
            out.append(Purchase(number, int(contact_id), product_id, int(ts), float(value or 0.0)))
    return out


def touches(conn: sa.Connection, account_id: int, start: int, end: int, product_ids: Iterable[str]) -> list[Touch]:
    """Impressions and clicks of these products in [start, end), with the live id of each one's contact
    (a device merged into a customer later still counts as that customer)."""
    live = sa.func.coalesce(k.merged_into, e.contact_id)
    joined = recom_events.outerjoin(contacts, sa.and_(k.id == e.contact_id, k.account_id == e.account_id))
    wanted = sorted(set(product_ids))
    out: list[Touch] = []
    for at in range(0, len(wanted), CHUNK):
        query = (sa.select(e.id, live, e.product_id, e.ts, e.kind, e.datasource_id, sa.func.coalesce(e.variant_id, 0))
                 .select_from(joined)
                 .where(e.account_id == account_id, e.ts >= start, e.ts < end, e.contact_id.is_not(None),
                        e.datasource_id.is_not(None), e.product_id.in_(wanted[at:at + CHUNK])))
        out.extend(Touch(int(c), p, int(ts), kind, int(d), int(v), int(key))
                   for key, c, p, ts, kind, d, v in conn.execute(query))
    return out
