"""The web console's use cases: sign-in sessions, the pages' data, and the live preview.

Signing in exchanges an API key (scope `datasources:manage`) for a random session token kept in an
HttpOnly cookie; the key itself is only ever in the sign-in form's body, never in a URL, a cookie or a log.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from recoms.domain import identity, mobile_sdk, variants
from recoms.domain.accounts import Account, hash_secret
from recoms.domain.datasource import DataSource, known_algorithms
from recoms.errors import BadRequest, NotFound, Unauthorized
from recoms.recommenders.registry import get_algorithm, plugins
from recoms.services import experiments
from recoms.services.contacts import resolve_contact
from recoms.services.datasources import check
from recoms.services.feeds import recent_imports
from recoms.services.platform import Platform
from recoms.services.recoms import parse_body
from recoms.store import console_sessions
from recoms.store.db import now_ms
from recoms.training import snapshot

SCOPE = "datasources:manage"
MAX_PREVIEW_PRODUCTS = 20


# --- sessions -----------------------------------------------------------------------------------


def sign_in(platform: Platform, secret: str, address: str) -> tuple[str, Account]:
    """A new session for a valid key (401/403 otherwise; an address sending wrong keys is slowed down)."""
    platform.limits.check_address(address)
    try:
        key, account = platform.directory.authenticate(secret.strip() or None, SCOPE)
    except Unauthorized:
        if secret:
            platform.limits.failed(address)
        raise
    token = secrets.token_urlsafe(32)
    now = now_ms()
    expires = now + int(platform.settings.console_session_hours * 3_600_000)
    with platform.engine.begin() as conn:
        console_sessions.create(conn, hash_secret(token), account.id, key.id, now, expires)
    return token, account


def signed_in(platform: Platform, token: str | None) -> Account | None:
    """The account of a live session, or None (no cookie, expired, signed out, or its key revoked)."""
    if not token or len(token) > 100:
        return None
    with platform.engine.connect() as conn:
        found = console_sessions.live(conn, hash_secret(token), now_ms())
    return platform.directory.account(found[0]) if found else None


def sign_out(platform: Platform, token: str | None) -> None:
    if token and len(token) <= 100:
        with platform.engine.begin() as conn:
            console_sessions.delete(conn, hash_secret(token))


# --- pages --------------------------------------------------------------------------------------


def status(ds: DataSource) -> str:
    if not ds.available:
        return "unavailable"
    return "experiment" if ds.variants else "active"


def datasources(platform: Platform, account_id: int) -> list[dict[str, Any]]:
    """The data sources page: id, name, algorithm, variants and status of each."""
    return [{"id": ds.id, "name": ds.name, "algorithm": ds.algorithm, "size": ds.size, "status": status(ds),
             "variants": [{"id": v.id, "name": v.name, "share": v.share, "algorithm": v.datasource.algorithm}
                          for v in variants.arms(ds)] if ds.variants else []}
            for ds in platform.datasources.list(account_id)]


def datasource(platform: Platform, account_id: int, ds_id: int) -> dict[str, Any]:
    ds = platform.datasources.get(account_id, ds_id)
    return {**ds.to_json(), "status": status(ds)}


def algorithms() -> list[dict[str, Any]]:
    """What the form offers: each algorithm, what it needs, its params with their defaults."""
    out = []
    for name in sorted(known_algorithms() - {"custom"}) + sorted(plugins()):
        cls = get_algorithm(name)
        out.append({"name": name, "needs": cls.needs, "params": cls.default_params, "plugin": name in plugins(),
                    "doc": (cls.__doc__ or "").strip().split("\n")[0]})
    return out


def feeds(platform: Platform, account_id: int) -> list[dict[str, Any]]:
    return recent_imports(platform.engine, account_id, 20)


def training(platform: Platform, account_id: int) -> dict[str, Any] | None:
    """The newest snapshot: when, on what, each algorithm's params, and any held-out quality it recorded."""
    artifacts = platform.settings.artifacts_path
    version = snapshot.newest_version(artifacts, account_id)
    if version is None:
        return None
    meta = json.loads((snapshot.account_dir(artifacts, account_id) / f"{version}.json").read_text())
    chosen = meta.get("params") or {}
    params = {name: chosen.get(name, _defaults(name)) for name in meta.get("algorithms", [])}
    return {"version": version, "meta": meta, "params": params,
            "quality": meta.get("quality") or meta.get("holdout") or meta.get("evaluation")}


def _defaults(name: str) -> dict[str, Any]:
    try:
        return dict(get_algorithm(name).default_params)
    except KeyError:
        return {}


# --- the live preview ------------------------------------------------------------------------------


def _contact(platform: Platform, account_id: int, who: str) -> int:
    """A contact by id, email, phone or external id (as the shop knows it); never created here."""
    who = who.strip()
    if who.isdigit() and len(who) < 19:
        return int(who)
    kind = "email" if "@" in who else "phone" if who.startswith("+") else "externalCustomerId"
    try:
        ids = identity.from_fields({kind: who})
    except identity.IdentifierError as exc:
        raise BadRequest(str(exc), [{"field": "contact", "reason": str(exc)}]) from None
    found = resolve_contact(platform.engine, account_id, ids, create=False) if ids else None
    if found is None:
        raise NotFound(f"no contact is known by {who[:80]!r}")
    return found


def preview(platform: Platform, account: Account, body: Any) -> dict[str, Any]:
    """What a configuration (saved or being edited) answers for a product or a contact, as the app shows it.

    Body: `{"datasource": {...} | "datasourceId": 1, "products": [...], "category": [...], "contact": "...",
    "variant": 1?}`; without `variant`, the contact's own variant answers (the control without a contact).
    """
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if isinstance(body.get("datasource"), dict):
        ds = experiments.unsaved(check(account.id, body["datasource"]))
    else:
        ds_id = body.get("datasourceId")
        if isinstance(ds_id, bool) or not isinstance(ds_id, int):
            raise BadRequest("give the datasource being edited or a datasourceId")
        ds = platform.datasources.get(account.id, ds_id)
    contact = body.get("contact")
    contact_id = _contact(platform, account.id, contact) if isinstance(contact, str) and contact.strip() else None
    wanted = body.get("variant")
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        chosen = variants.by_id(ds, wanted)
        if chosen is None:
            raise NotFound(f"variant {wanted} is not one of this data source's")
    else:
        chosen = variants.choose(ds, contact_id)
    req = parse_body({k: body[k] for k in ("products", "category") if body.get(k)})
    products = experiments.serve_config(platform, account, chosen.datasource, contact_id, req)
    return {"variant": {"id": chosen.id, "name": chosen.name}, "contactId": contact_id,
            "products": [mobile_sdk.recom_item(p) for p in products[:MAX_PREVIEW_PRODUCTS]]}
