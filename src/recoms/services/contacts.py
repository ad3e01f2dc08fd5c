"""Contact tokens (SPEC §2) and contact lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recoms.domain import identity
from recoms.domain.platform_records import ContactRecord, RecordError, parse_contact
from recoms.errors import BadRequest, NotFound
from recoms.store import activity, contacts
from recoms.store.tokens import TokenStore

TOKEN_FIELDS = ("email", "phone", "externalCustomerId", "extid", "userPseudoId", "cookie")
NUMERIC_FIELDS = ("externalCustomerId", "extid", "phone")


def identifiers_from_body(body: Any) -> dict[str, str]:
    """At least one non-empty string identifier, each of the right type (400 otherwise)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    errors = []
    for name in TOKEN_FIELDS:
        value = body.get(name)
        # The platform's integrations send customer ids and phones as JSON numbers (Shopify, OpenCart).
        number_ok = name in NUMERIC_FIELDS and isinstance(value, int) and not isinstance(value, bool)
        if value is not None and not isinstance(value, str) and not number_ok:
            errors.append({"field": name, "reason": "must be a string"})
    if errors:
        raise BadRequest("identifiers must be strings", errors)
    fields = {k: v for k, v in body.items() if k in TOKEN_FIELDS}
    try:
        ids = identity.from_fields(fields)
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc)) from None
    if not ids:
        raise BadRequest(f"give at least one non-empty identifier: {', '.join(TOKEN_FIELDS)}")
    return ids


def resolve_contact(engine: sa.Engine, account_id: int, ids: dict[str, str], create: bool = True) -> int | None:
    """Find (or create) the contact; one retry when a concurrent request created it first."""
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                return contacts.resolve(conn, account_id, ids, create=create)
        except IntegrityError:
            if attempt:
                raise
    return None


def issue_token(engine: sa.Engine, tokens: TokenStore, account_id: int, body: Any) -> str:
    contact_id = resolve_contact(engine, account_id, identifiers_from_body(body))
    return tokens.issue(account_id, contact_id)


MAX_CONTACTS = 3000


@dataclass
class UpsertResult:
    contact_ids: list[int | None]
    failed: list[dict[str, Any]]


def upsert_contacts(engine: sa.Engine, account_id: int, records: list[Any], contact_fields: Any = None) -> UpsertResult:
    """Create or update contacts from the platform's contact records, each on its own: a bad record is
    reported by index (with the reason) and the others are stored."""
    if len(records) > MAX_CONTACTS:
        raise BadRequest(f"at most {MAX_CONTACTS} contacts per request; send the rest in another")
    result = UpsertResult([], [])
    parsed: list[tuple[int, ContactRecord]] = []
    for index, raw in enumerate(records):
        try:
            parsed.append((index, parse_contact(raw, contact_fields)))
        except RecordError as exc:
            result.failed.append({"index": index, "errorMessage": str(exc)})
            result.contact_ids.append(None)
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                done = [_upsert_one(conn, account_id, record) for _index, record in parsed]
            break
        except IntegrityError:  # a concurrent request created one of these contacts first
            if attempt:
                raise
    by_index = dict(zip((i for i, _ in parsed), done, strict=True))
    result.contact_ids = [by_index.get(i) for i in range(len(records))]
    return result


def _upsert_one(conn: sa.Connection, account_id: int, record: ContactRecord) -> int:
    contact_id = contacts.resolve(conn, account_id, record.ids)
    contacts.remove_identifiers(conn, account_id, contact_id, record.cleared)
    if record.attributes:
        contacts.set_attributes(conn, account_id, contact_id, record.attributes)
    return contact_id


def delete_contact(engine: sa.Engine, account_id: int, fields: dict[str, Any], erase: bool) -> int:
    """Delete a contact found by identifier: it loses its identifiers (nobody can be linked to it again);
    with `erase` it is forgotten altogether (SPEC: a person's data can be erased)."""
    try:
        ids = identity.from_fields({k: v for k, v in fields.items() if v not in (None, "")})
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc)) from None
    if not ids:
        raise BadRequest("name the contact: externalCustomerId, email or phone")
    with engine.begin() as conn:
        contact_id = contacts.resolve(conn, account_id, ids, create=False)
        if contact_id is None:
            named = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v not in (None, ""))
            raise NotFound(f"Contact with {named} not found")
        if erase:
            contacts.erase(conn, account_id, contact_id)
        else:
            contacts.remove_identifiers(conn, account_id, contact_id, set(identity.KINDS))
    return contact_id


def contact_details(engine: sa.Engine, account_id: int, contact_id: int) -> dict[str, Any]:
    """A contact's identifiers and attributes (following a merge); 404 when it is not this account's."""
    with engine.connect() as conn:
        found = contacts.get_contact(conn, account_id, contact_id)
    if found is None:
        raise NotFound(f"contact {contact_id} does not exist")
    return found


def contact_events(engine: sa.Engine, account_id: int, contact_id: int, limit: int) -> list[dict[str, Any]]:
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be from 1 to 1000")
    with engine.connect() as conn:
        if contacts.canonical_id(conn, account_id, contact_id) is None:
            raise NotFound(f"contact {contact_id} does not exist")
        return activity.list_events(conn, account_id, contact_id, limit)
