"""Accounts, API keys and authentication (SPEC §1)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from recoms.domain.accounts import ADMIN, SITE_ID, Account, ApiKey
from recoms.errors import Forbidden, NotFound, Unauthorized
from recoms.store import accounts as store

CACHE_SECONDS = 5.0  # a revoked key or changed plan takes effect within this


class AccountDirectory:
    """Looks up keys, site ids and accounts with a short in-process cache (no DB hit per request)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._keys: dict[str, tuple[float, ApiKey | None]] = {}
        self._accounts: dict[int, tuple[float, Account | None]] = {}
        self._sites: dict[str, tuple[float, Account | None]] = {}

    def _cached(self, cache: dict, key: Any, load) -> Any:
        hit = cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        with self.engine.connect() as conn:
            value = load(conn, key)
        if len(cache) > 10_000:
            cache.clear()
        cache[key] = (now, value)
        return value

    def key(self, secret: str) -> ApiKey | None:
        return self._cached(self._keys, secret, store.key_by_secret)

    def account(self, account_id: int) -> Account | None:
        return self._cached(self._accounts, account_id, store.get_account)

    def site(self, site_id: object) -> Account | None:
        """The account of a public site id; anything not shaped like one is unknown without a lookup."""
        if not isinstance(site_id, str) or not SITE_ID.fullmatch(site_id):
            return None
        return self._cached(self._sites, site_id, store.account_by_site)

    def authenticate(self, secret: str | None, *scopes: str) -> tuple[ApiKey, Account]:
        if not secret:
            raise Unauthorized("an API key is required (HTTP Basic auth, the key as password)")
        key = self.key(secret)
        account = self.account(key.account_id) if key else None
        if key is None or account is None:
            raise Unauthorized("unknown or revoked API key")
        if not any(key.allows(scope) for scope in scopes):
            wanted = " or ".join(repr(s) for s in scopes)
            raise Forbidden(f"this API key lacks the scope {wanted}")
        return key, account


def require_recommendations(account: Account) -> None:
    if not account.has_recommendations:
        raise Forbidden(
            f"the {account.plan!r} plan does not include recommendations: the 'extra' plan is needed"
        )


def create_account(engine: sa.Engine, name: str, plan: str = "extra") -> dict[str, Any]:
    with engine.begin() as conn:
        account = store.create_account(conn, name, plan)
        secret, _key = store.create_api_key(conn, account.id, [ADMIN], "admin")
    return {"account_id": account.id, "name": account.name, "plan": account.plan, "api_key": secret,
            "site_id": account.site_id}


def create_key(engine: sa.Engine, account_id: int, scopes: list[str], name: str = "") -> dict[str, Any]:
    with engine.begin() as conn:
        if store.get_account(conn, account_id) is None:
            raise NotFound(f"account {account_id} does not exist")
        secret, key = store.create_api_key(conn, account_id, scopes, name)
    return {"id": key.id, "account_id": account_id, "name": key.name, "scopes": list(key.scopes), "api_key": secret}
