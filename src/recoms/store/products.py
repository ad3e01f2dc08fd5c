"""The catalog in the SQL store: upserts from feeds and events, reads for serving and training."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from recoms.domain.product import Product
from recoms.store.bulk import as_sqlalchemy, text_array
from recoms.store.db import now_ms
from recoms.store.tables import products
from recoms.store.upsert import upsert

PRODUCT_FIELDS = ("name", "url", "price", "descr", "brand", "category", "in_stock", "tags")


def to_product(row: Any) -> Product:
    return Product(
        id=row.id, name=row.name, url=row.url, price=row.price, descr=row.descr, brand=row.brand,
        category=list(row.category), in_stock=bool(row.in_stock) and bool(row.available), tags=dict(row.tags),
    )


def upsert_products(conn: sa.Connection, account_id: int, items: list[Product], feed_seen_at: int | None) -> None:
    """Insert or replace whole products (a feed is the truth for every field it carries)."""
    now = now_ms()
    rows = [
        {
            "account_id": account_id, "id": p.id, "name": p.name, "url": p.url, "price": float(p.price),
            "descr": p.descr, "brand": p.brand, "category": list(p.category), "in_stock": bool(p.in_stock),
            "tags": dict(p.tags), "available": True, "feed_seen_at": feed_seen_at, "created_at": now,
            "updated_at": now,
        }
        for p in items
    ]
    update = [*PRODUCT_FIELDS, "available", "updated_at"] + (["feed_seen_at"] if feed_seen_at else [])
    upsert(conn, products, rows, ("account_id", "id"), update)


def mark_missing_unavailable(conn: sa.Connection, account_id: int, feed_started_at: int) -> int:
    """After a full feed: products it did not list become unavailable (kept, never recommended)."""
    c = products.c
    result = conn.execute(
        products.update()
        .where(
            c.account_id == account_id, c.available.is_(True),
            sa.or_(c.feed_seen_at.is_(None), c.feed_seen_at < feed_started_at),
        )
        .values(available=False, updated_at=now_ms())
    )
    return result.rowcount


def patch_product(conn: sa.Connection, account_id: int, product_id: str, patch: dict[str, Any]) -> bool:
    """Change some fields of a known product (tags are merged); False when it is unknown."""
    c = products.c
    values = {k: v for k, v in patch.items() if k in PRODUCT_FIELDS and k != "tags"}
    if "tags" in patch:
        row = conn.execute(sa.select(c.tags).where(c.account_id == account_id, c.id == product_id)).first()
        if row is None:
            return False
        values["tags"] = {**row.tags, **patch["tags"]}
    if not values:
        return False
    values["updated_at"] = now_ms()
    result = conn.execute(products.update().where(c.account_id == account_id, c.id == product_id).values(**values))
    return result.rowcount > 0


PATCHED = ("price", "in_stock")  # what the tracker patches of a product


def patch_many(conn: sa.Connection, account_id: int, patches: dict[str, dict[str, Any]]) -> None:
    """Price and stock of many products as the tracker saw them, only where a value differs (page views
    repeat them; an unchanged product keeps its `updated_at`, so serving does not reload the catalog for
    it). PostgreSQL: one statement from text arrays (executemany ran one statement a product, and built
    each one's messages in Python); SQLite: one executemany per set of fields."""
    if conn.dialect.name == "postgresql":
        return _patch_many_postgres(conn, account_id, patches)
    by_fields: dict[tuple[str, ...], list[tuple]] = {}
    now = now_ms()
    for product_id, patch in patches.items():
        fields = tuple(sorted(k for k in patch if k in PATCHED))
        if fields:
            values = [patch[k] for k in fields]
            by_fields.setdefault(fields, []).append((*values, now, account_id, product_id, *values))
    for fields, rows in by_fields.items():
        changed = " OR ".join(f"{k} <> ?" for k in fields)
        conn.exec_driver_sql(
            f"UPDATE products SET {', '.join(f'{k} = ?' for k in fields)}, updated_at = ? "
            f"WHERE account_id = ? AND id = ? AND ({changed})", rows)

# A field a patch leaves out comes as NULL and keeps the product's value.
PATCH_MANY_POSTGRES = (
    "UPDATE products AS p SET price = COALESCE(u.price, p.price), in_stock = COALESCE(u.in_stock, p.in_stock), "
    "updated_at = %s FROM (SELECT id, CAST(price AS double precision) AS price, CAST(in_stock AS boolean) "
    "AS in_stock FROM unnest(%s::text[], %s::text[], %s::text[]) AS r(id, price, in_stock)) AS u "
    "WHERE p.account_id = %s AND p.id = u.id "
    "AND (p.price IS DISTINCT FROM COALESCE(u.price, p.price) "
    "OR p.in_stock IS DISTINCT FROM COALESCE(u.in_stock, p.in_stock))"
)


def _patch_many_postgres(conn: sa.Connection, account_id: int, patches: dict[str, dict[str, Any]]) -> None:
    rows = [(product_id, patch.get("price"), patch.get("in_stock")) for product_id, patch in patches.items()
            if any(k in patch for k in PATCHED)]
    if rows:
        ids, prices, stock = zip(*rows, strict=True)
        raw = conn.connection.driver_connection  # the driver's: it may go in a pipeline (bulk.insert_together)
        with as_sqlalchemy(PATCH_MANY_POSTGRES, raw):
            raw.execute(PATCH_MANY_POSTGRES, (now_ms(), text_array(ids), text_array(prices), text_array(stock),
                                              account_id))


def get_product(conn: sa.Connection, account_id: int, product_id: str) -> Product | None:
    row = conn.execute(
        sa.select(products).where(products.c.account_id == account_id, products.c.id == product_id)
    ).first()
    return to_product(row) if row else None


def iter_products(conn: sa.Connection, account_id: int, changed_since: int | None = None) -> Iterator[Any]:
    """Rows of the account's catalog (all, or changed after a time), with `available` and times."""
    query = sa.select(products).where(products.c.account_id == account_id)
    if changed_since is not None:
        query = query.where(products.c.updated_at > changed_since)
    yield from conn.execute(query.order_by(products.c.id)).yield_per(5000)


def catalog_version(conn: sa.Connection, account_id: int) -> tuple[int, int]:
    """(newest updated_at, count): changes when any product is added or changed."""
    row = conn.execute(
        sa.select(sa.func.max(products.c.updated_at), sa.func.count()).where(products.c.account_id == account_id)
    ).one()
    return int(row[0] or 0), int(row[1])


def accounts_with_products(conn: sa.Connection) -> list[int]:
    return list(conn.execute(sa.select(products.c.account_id).distinct()).scalars())
