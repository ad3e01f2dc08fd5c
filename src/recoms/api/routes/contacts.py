"""Contacts: look one up by id or identifier, see its recent events (contacts:manage)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from recoms.api.deps import ContactsManage, PlatformDep, RowId
from recoms.domain import identity
from recoms.errors import BadRequest, NotFound
from recoms.services.contacts import resolve_contact
from recoms.store import activity, contacts

router = APIRouter(tags=["contacts"])


@router.get("/api/v1/contacts", summary="Find a contact by identifier")
def find(
    caller: ContactsManage, platform: PlatformDep, externalCustomerId: str | None = None,
    email: str | None = None, phone: str | None = None, userPseudoId: str | None = None,
    cookie: str | None = None,
) -> dict[str, Any]:
    fields = {"externalCustomerId": externalCustomerId, "email": email, "phone": phone,
              "userPseudoId": userPseudoId, "cookie": cookie}
    try:
        ids = identity.from_fields(fields)
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc)) from None
    if not ids:
        raise BadRequest("give one of externalCustomerId, email, phone, userPseudoId, cookie")
    contact_id = resolve_contact(platform.engine, caller.account.id, ids, create=False)
    if contact_id is None:
        raise NotFound("no contact has this identifier")
    return get_one(contact_id, caller, platform)


@router.get("/api/v1/contacts/{contact_id}", summary="One contact: identifiers and attributes")
def get_one(contact_id: RowId, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    with platform.engine.connect() as conn:
        found = contacts.get_contact(conn, caller.account.id, contact_id)
    if found is None:
        raise NotFound(f"contact {contact_id} does not exist")
    return found


@router.get("/api/v1/contacts/{contact_id}/events", summary="A contact's newest events")
def events(contact_id: RowId, caller: ContactsManage, platform: PlatformDep, limit: int = 100) -> list[dict[str, Any]]:
    if not 1 <= limit <= 1000:
        raise BadRequest("limit must be from 1 to 1000")
    with platform.engine.connect() as conn:
        if contacts.canonical_id(conn, caller.account.id, contact_id) is None:
            raise NotFound(f"contact {contact_id} does not exist")
        return activity.list_events(conn, caller.account.id, contact_id, limit)
