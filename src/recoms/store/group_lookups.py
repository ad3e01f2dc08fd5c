"""What a group of events reads before it is applied (services.ingest_batch.Pending.prefetch): who holds
their identifiers, which client event ids and order numbers are stored, the carts of the contacts that send
cart events, and whether the contacts that may be given a customer id hold one.

On PostgreSQL the five go out together in one pipeline, one round trip, and on the group-commit writer's
connection the pipeline opens the transaction too (bulk_load.begin_with_first_statements). A group of
single events used to make about seven round trips, BEGIN and COMMIT included, each 1-6 ms for a writer
thread sharing the GIL with a busy event loop; now it makes two (the other: its writes and COMMIT). So that
none waits for another's answer, the carts and customer ids are found through the identifiers. SQLite, in
process, runs them one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa

from recoms.store import activity, bulk_load, contacts
from recoms.store.bulk import pipeline, text_array

Pair = tuple[str, str]


class Found(NamedTuple):
    held: dict[Pair, contacts.Held]  # the identifiers somebody holds
    keys: set[str]  # client event ids already stored
    orders: set[str]  # order numbers already recorded
    carts: dict[int, list[dict[str, Any]]]  # each contact holding a cart identifier: its cart ([]: none)
    customers: dict[int, bool]  # each contact holding a customer identifier: whether it has a customer id


# The contacts holding identifiers given as two text arrays, by the key, one probe a pair (as HELD_POSTGRES).
_HOLDERS = ("SELECT ci.contact_id FROM unnest(%s::text[], %s::text[]) AS w (kind, value), LATERAL (SELECT "
            "contact_id FROM contact_identifiers WHERE account_id = %s AND kind = w.kind AND value = w.value "
            "LIMIT 1) AS ci")
_KEYS = "SELECT event_key FROM events WHERE account_id = %s AND event_key = ANY(%s::text[])"
_ORDERS = "SELECT order_number FROM orders WHERE account_id = %s AND order_number = ANY(%s::text[])"
_CARTS = f"SELECT contact_id, lines FROM carts WHERE account_id = %s AND contact_id IN ({_HOLDERS})"
# By (account, contact), the kind checked here: with the kind in the condition PostgreSQL may read every
# identifier of that kind in the account through the key (contacts.with_customer_id).
_CUSTOMER_IDS = (f"SELECT contact_id, kind, verified FROM contact_identifiers WHERE account_id = %s "
                 f"AND contact_id IN ({_HOLDERS})")


def look_up(conn: sa.Connection, account_id: int, pairs: Sequence[Pair], keys: Sequence[str],
            orders: Sequence[str], cart_pairs: Sequence[Pair], customer_pairs: Sequence[Pair]) -> Found:
    """The five lookups for one account (`cart_pairs` and `customer_pairs` are among `pairs`)."""
    pairs, cart_pairs, customer_pairs = (list(dict.fromkeys(p)) for p in (pairs, cart_pairs, customer_pairs))
    if conn.dialect.name == "postgresql":
        return _together(conn, account_id, pairs, keys, orders, cart_pairs, customer_pairs)
    held = contacts.held_many(conn, account_id, pairs) if pairs else {}
    cart_holders, customer_holders = _holders(held, cart_pairs), _holders(held, customer_pairs)
    return _found(held, activity.known_event_keys(conn, account_id, list(keys)),
                  activity.known_orders(conn, account_id, orders) if orders else set(),
                  activity.carts_of(conn, account_id, cart_holders) if cart_holders else {},
                  contacts.with_customer_id(conn, account_id, customer_holders) if customer_holders else set(),
                  cart_pairs, customer_pairs)


def _holders(held: dict[Pair, contacts.Held], pairs: Sequence[Pair]) -> set[int]:
    return {held[pair].contact_id for pair in pairs if pair in held}


def _found(held: dict[Pair, contacts.Held], keys: set[str], orders: set[str], carts: dict[int, list],
           with_id: set[int], cart_pairs: Sequence[Pair], customer_pairs: Sequence[Pair]) -> Found:
    """The answers, with a cart ([] for none) and a customer-id flag for each holder asked about."""
    return Found(held, keys, orders, {c: carts.get(c, []) for c in _holders(held, cart_pairs)},
                 {c: c in with_id for c in _holders(held, customer_pairs)})


def _arrays(pairs: Sequence[Pair]) -> tuple[str, str]:
    return text_array([kind for kind, _ in pairs]), text_array([value for _, value in pairs])


def _together(conn: sa.Connection, account_id: int, pairs: list[Pair], keys: Sequence[str],
              orders: Sequence[str], cart_pairs: list[Pair], customer_pairs: list[Pair]) -> Found:
    raw = conn.connection.driver_connection
    opens = bulk_load.opens_transaction(raw)
    if not (opens or pairs or keys or orders):  # the other two are among the pairs
        return Found({}, set(), set(), {}, {})
    asked: dict[str, Any] = {}
    with pipeline(conn):
        if opens:
            raw.execute("BEGIN")
        if pairs:
            asked["held"] = raw.execute(contacts.HELD_POSTGRES, (*_arrays(pairs), account_id))
        if keys:
            asked["keys"] = raw.execute(_KEYS, (account_id, text_array(sorted(set(keys)))))
        if orders:
            asked["orders"] = raw.execute(_ORDERS, (account_id, text_array(sorted(set(orders)))))
        if cart_pairs:
            asked["carts"] = raw.execute(_CARTS, (account_id, *_arrays(cart_pairs), account_id))
        if customer_pairs:
            asked["customers"] = raw.execute(_CUSTOMER_IDS, (account_id, *_arrays(customer_pairs), account_id))
    rows = {name: cursor.fetchall() for name, cursor in asked.items()}
    held = {(kind, value): contacts.Held(contact_id, bool(verified))
            for kind, value, contact_id, verified in rows.get("held", ())}
    found_carts = {contact_id: list(orjson.loads(lines) if isinstance(lines, (str, bytes)) else lines)
                   for contact_id, lines in rows.get("carts", ())}
    with_id = {contact_id for contact_id, kind, verified in rows.get("customers", ())
               if kind == "external_id" and verified}
    return _found(held, {key for (key,) in rows.get("keys", ())}, {number for (number,) in rows.get("orders", ())},
                  found_carts, with_id, cart_pairs, customer_pairs)
