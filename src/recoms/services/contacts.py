"""Contact tokens (SPEC §2), contact lookups and upkeep: export, erase, merges and their undoing.

Everything here is called by the shop's server (an API key) or the operator (the CLI): its identifiers
are verified. Lookups never go through an identifier a visitor only claimed (store.contacts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recoms.domain import identity
from recoms.domain.platform_records import ContactRecord, RecordError, parse_contact
from recoms.errors import BadRequest, NotFound
from recoms.store import activity, contact_export, contacts, merges
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


def identifiers_from_query(fields: dict[str, Any]) -> dict[str, str]:
    """Identifier kinds -> values from query fields (externalCustomerId, email, ...); 400 when none."""
    try:
        ids = identity.from_fields({k: v for k, v in fields.items() if v not in (None, "")})
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc)) from None
    if not ids:
        raise BadRequest("give one of externalCustomerId, email, phone, userPseudoId, cookie")
    return ids


def resolve_contact(engine: sa.Engine, account_id: int, ids: dict[str, str], create: bool = True,
                    caller: str = "api") -> int | None:
    """Find (or create) the contact; one retry when a concurrent request created it first.
    `create=False` only looks, and only through verified identifiers."""
    if not create:
        with engine.connect() as conn:
            return contacts.lookup(conn, account_id, ids)
    for attempt in range(2):
        try:
            with engine.begin() as conn:
                return contacts.resolve(conn, account_id, ids, caller=caller)
        except IntegrityError:
            if attempt:
                raise
    return None


def issue_token(engine: sa.Engine, tokens: TokenStore, account_id: int, body: Any) -> str:
    """The shop's server vouches for every identifier it sends (the cookie of a browser that logged in,
    with the customer's email): they are linked, merging the visitor into the customer."""
    contact_id = resolve_contact(engine, account_id, identifiers_from_body(body), caller="token")
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
    contact_id = contacts.resolve(conn, account_id, record.ids, caller="contacts")
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
        contact_id = contacts.lookup(conn, account_id, ids)
        if contact_id is None:
            named = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v not in (None, ""))
            raise NotFound(f"Contact with {named} not found")
        if erase:
            contacts.erase(conn, account_id, contact_id)
        else:
            contacts.remove_identifiers(conn, account_id, contact_id, set(identity.KINDS))
    return contact_id


def find_contact(engine: sa.Engine, account_id: int, ids: dict[str, str]) -> int:
    """The contact a verified identifier names; 404 otherwise."""
    contact_id = resolve_contact(engine, account_id, ids, create=False)
    if contact_id is None:
        raise NotFound("no contact has this identifier (identifiers a visitor only claimed name nobody)")
    return contact_id


def export_contact(engine: sa.Engine, account_id: int, contact_id: int) -> dict[str, Any]:
    """Everything stored about the person (store.contact_export); 404 when it is not this account's."""
    with engine.connect() as conn:
        found = contact_export.export(conn, account_id, contact_id)
    if found is None:
        raise NotFound(f"contact {contact_id} does not exist")
    return found


def erase_contact(engine: sa.Engine, account_id: int, contact_id: int) -> int:
    """Forget the person (and the contacts merged into it); the live id that was erased."""
    with engine.begin() as conn:
        live = contacts.canonical_id(conn, account_id, contact_id)
        if live is None:
            raise NotFound(f"contact {contact_id} does not exist")
        contacts.erase(conn, account_id, live)
    return live


def contact_merges(engine: sa.Engine, account_id: int, contact_id: int) -> list[dict[str, Any]]:
    """The merges a contact took part in, as loser or winner, with those merged into it."""
    with engine.connect() as conn:
        live = contacts.canonical_id(conn, account_id, contact_id)
        if live is None:
            raise NotFound(f"contact {contact_id} does not exist")
        return merges.of(conn, account_id, sorted({contact_id, live, *contacts.merged_into(conn, account_id, live)}))


def unmerge(engine: sa.Engine, account_id: int, merge_id: int | None = None, contact_id: int | None = None,
            ids: dict[str, str] | None = None) -> dict[str, Any]:
    """Undo a recorded merge, named by its id, by the merged-away contact, or by an identifier that came
    from it; the merge's record, now undone."""
    with engine.begin() as conn:
        if merge_id is not None:
            record = merges.get(conn, account_id, merge_id)
            named = f"merge {merge_id}"
        else:
            if contact_id is None and ids:
                contact_id = contacts.origin_of(conn, account_id, ids)
            record = merges.active_merge_of(conn, account_id, contact_id) if contact_id is not None else None
            named = f"a merge of contact {contact_id}" if contact_id is not None else "a merge of this identifier"
        if record is None:
            raise NotFound(f"{named} is not recorded")
        if record.undone_at is not None:
            raise BadRequest(f"merge {record.id} was already undone")
        merges.unmerge(conn, account_id, record)
        return merges.to_json(merges.get(conn, account_id, record.id))


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
