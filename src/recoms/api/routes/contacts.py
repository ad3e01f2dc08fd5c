"""Contacts: look one up by id or identifier, see its events, export or erase it, list and undo its merges
(contacts:manage)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from recoms.api.deps import ContactsManage, PlatformDep, RowId, json_body
from recoms.errors import BadRequest
from recoms.services.contacts import (
    contact_details,
    contact_events,
    contact_merges,
    delete_contact,
    erase_contact,
    export_contact,
    find_contact,
    identifiers_from_query,
    unmerge,
    upsert_contacts,
)
from recoms.services.platform import Platform

router = APIRouter(tags=["contacts"])


def _by_identifier(platform: Platform, account_id: int, externalCustomerId: str | None, email: str | None,
                   phone: str | None, userPseudoId: str | None, cookie: str | None) -> int:
    ids = identifiers_from_query({"externalCustomerId": externalCustomerId, "email": email, "phone": phone,
                                  "userPseudoId": userPseudoId, "cookie": cookie})
    return find_contact(platform.engine, account_id, ids)


@router.get("/api/v1/contacts", summary="Find a contact by identifier")
def find(
    caller: ContactsManage, platform: PlatformDep, externalCustomerId: str | None = None,
    email: str | None = None, phone: str | None = None, userPseudoId: str | None = None,
    cookie: str | None = None,
) -> dict[str, Any]:
    contact_id = _by_identifier(platform, caller.account.id, externalCustomerId, email, phone, userPseudoId, cookie)
    return get_one(contact_id, caller, platform)


@router.get("/api/v1/contacts/export", summary="Everything stored about a contact, found by identifier")
def export_by_identifier(
    caller: ContactsManage, platform: PlatformDep, externalCustomerId: str | None = None,
    email: str | None = None, phone: str | None = None, userPseudoId: str | None = None,
    cookie: str | None = None,
) -> dict[str, Any]:
    contact_id = _by_identifier(platform, caller.account.id, externalCustomerId, email, phone, userPseudoId, cookie)
    return export_contact(platform.engine, caller.account.id, contact_id)


@router.delete("/api/v1/contacts", summary="Erase a contact found by identifier: identifiers, events, tokens, "
               "claims, merges; its purchases stay, linked to nobody")
def erase_by_identifier(
    caller: ContactsManage, platform: PlatformDep, externalCustomerId: str | None = None,
    email: str | None = None, phone: str | None = None, userPseudoId: str | None = None,
    cookie: str | None = None,
) -> dict[str, Any]:
    contact_id = _by_identifier(platform, caller.account.id, externalCustomerId, email, phone, userPseudoId, cookie)
    return {"id": erase_contact(platform.engine, caller.account.id, contact_id), "erased": True}


@router.get("/api/v1/contacts/{contact_id}", summary="One contact: identifiers and attributes")
def get_one(contact_id: RowId, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    return contact_details(platform.engine, caller.account.id, contact_id)


@router.delete("/api/v1/contacts/{contact_id}", summary="Erase a contact (as DELETE /api/v1/contacts?email=...)")
def erase_one(contact_id: RowId, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    return {"id": erase_contact(platform.engine, caller.account.id, contact_id), "erased": True}


@router.get("/api/v1/contacts/{contact_id}/events", summary="A contact's newest events")
def events(contact_id: RowId, caller: ContactsManage, platform: PlatformDep, limit: int = 100) -> list[dict[str, Any]]:
    return contact_events(platform.engine, caller.account.id, contact_id, limit)


@router.get("/api/v1/contacts/{contact_id}/export", summary="Everything stored about a contact, as JSON")
def export(contact_id: RowId, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    return export_contact(platform.engine, caller.account.id, contact_id)


@router.get("/api/v1/contacts/{contact_id}/merges", summary="The merges a contact took part in")
def merges(contact_id: RowId, caller: ContactsManage, platform: PlatformDep) -> list[dict[str, Any]]:
    return contact_merges(platform.engine, caller.account.id, contact_id)


@router.post("/api/v1/contacts/{contact_id}/unmerge", summary="Undo the merge that made this contact part of "
             "another: its identifiers and rows go back to it")
def unmerge_contact(contact_id: RowId, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    return unmerge(platform.engine, caller.account.id, contact_id=contact_id)


@router.post("/api/v1/contacts/merges/{merge_id}/undo", summary="Undo a recorded merge by its id")
def undo_merge(merge_id: RowId, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    return unmerge(platform.engine, caller.account.id, merge_id=merge_id)


CONTACT_EXAMPLE = {"externalCustomerId": "c-1001", "firstName": "Anna", "lastName": "Smith",
                   "channels": [{"type": "email", "value": "anna@example.com"},
                                {"type": "sms", "value": "380501234567"}]}


@router.post("/api/v1/contact", summary="Create or update one contact (the platform's contact record)",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "example": CONTACT_EXAMPLE}}}})
async def upsert_one(request: Request, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    body = await json_body(request)
    result = await run_in_threadpool(upsert_contacts, platform.engine, caller.account.id, [body])
    if result.failed:
        raise BadRequest(result.failed[0]["errorMessage"])
    return {"id": result.contact_ids[0]}


@router.post("/api/v1/contacts", summary="Create or update many contacts (at most 3000)",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "example": {"contacts": [CONTACT_EXAMPLE], "dedupeOn": "externalCustomerId"}}}}})
async def upsert_many(request: Request, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    body = await json_body(request, items_checked=True)
    if not isinstance(body, dict) or not isinstance(body.get("contacts"), list):
        raise BadRequest('the body must be {"contacts": [...], "dedupeOn": ...}')
    result = await run_in_threadpool(
        upsert_contacts, platform.engine, caller.account.id, body["contacts"], body.get("contactFields")
    )
    # Imported at once: `id` 0 and a session id are what the platform's clients check for.
    return {"id": 0, "asyncSessionId": str(uuid.uuid4()), "failedContacts": result.failed}


@router.delete("/api/v1/contact", summary="Delete a contact by identifier (erase=true: forget it entirely)")
async def delete(request: Request, caller: ContactsManage, platform: PlatformDep) -> dict[str, Any]:
    fields: dict[str, Any] = dict(request.query_params)
    if not fields and await request.body():  # OpenCart's older client sends them as a JSON body
        body = await json_body(request)
        fields = body if isinstance(body, dict) else {}
    erase = str(fields.pop("erase", "false")).lower() in ("1", "true")
    wanted = {k: fields.get(k) for k in ("externalCustomerId", "email", "phone")}
    contact_id = await run_in_threadpool(delete_contact, platform.engine, caller.account.id, wanted, erase)
    return {"id": contact_id, "erased": erase}
