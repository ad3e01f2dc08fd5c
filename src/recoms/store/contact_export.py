"""Everything the store holds about one person, as JSON-ready data (a data-subject export)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from recoms.store import claims, merges
from recoms.store.activity import get_cart
from recoms.store.contacts import canonical_id, identifier_rows, merged_into
from recoms.store.tables import contacts, events, interactions, orders, recom_events


def _rows(conn: sa.Connection, table: sa.Table, account_id: int, contact_id: int, columns: dict[str, str],
          order: tuple[str, ...]) -> list[dict[str, Any]]:
    found = conn.execute(sa.select(*(table.c[c] for c in columns)).where(
        table.c.account_id == account_id, table.c.contact_id == contact_id
    ).order_by(*(table.c[c] for c in order)))
    return [{name: getattr(r, column) for column, name in columns.items()} for r in found]


def export(conn: sa.Connection, account_id: int, contact_id: int) -> dict[str, Any] | None:
    """The contact (following a merge), its identifiers with their trust, attributes, every event,
    interaction, order, the cart, impressions and clicks, the merges and claims it took part in."""
    live = canonical_id(conn, account_id, contact_id)
    if live is None:
        return None
    row = conn.execute(sa.select(contacts).where(contacts.c.id == live)).first()
    part_of = merged_into(conn, account_id, live)
    return {
        "contact": {"id": live, "attributes": row.attributes, "createdAt": row.created_at,
                    "updatedAt": row.updated_at, "mergedContactIds": part_of},
        "identifiers": identifier_rows(conn, account_id, live),
        "events": _rows(conn, events, account_id, live, {
            "id": "id", "type": "type", "ts": "ts", "source": "source", "payload": "payload",
            "received_at": "receivedAt", "event_key": "eventKey", "origin_contact_id": "originContactId"},
            ("ts", "id")),
        "interactions": _rows(conn, interactions, account_id, live, {
            "id": "id", "kind": "kind", "product_id": "productId", "category": "category", "ts": "ts",
            "quantity": "quantity", "price": "price", "order_number": "orderNumber",
            "origin_contact_id": "originContactId"}, ("ts", "id")),
        "orders": _rows(conn, orders, account_id, live, {
            "order_number": "orderNumber", "status": "status", "total": "total", "ts": "ts",
            "updated_at": "updatedAt", "origin_contact_id": "originContactId"}, ("ts", "order_number")),
        "cart": get_cart(conn, account_id, live),
        "recommendationEvents": _rows(conn, recom_events, account_id, live, {
            "datasource_id": "datasourceId", "variant": "variant", "product_id": "productId", "kind": "kind",
            "ts": "ts", "source": "source"}, ("ts", "id")),
        "merges": merges.of(conn, account_id, [live, *part_of]),
        "claims": claims.of(conn, account_id, [live, *part_of]),
    }
