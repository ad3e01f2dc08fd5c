"""Contact tokens (SPEC §2) and contact lookups."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recoms.domain import identity
from recoms.errors import BadRequest
from recoms.store import contacts
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
