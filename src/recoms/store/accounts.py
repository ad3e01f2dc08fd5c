"""Accounts and API keys in the SQL store."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from recoms.domain.accounts import PLANS, Account, ApiKey, check_scopes, hash_secret, new_secret
from recoms.store.db import now_ms
from recoms.store.tables import accounts, api_keys


def _account(row) -> Account:
    return Account(row.id, row.name, row.plan, row.site_id, row.feed_url)


def create_account(conn: sa.Connection, name: str, plan: str) -> Account:
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {', '.join(PLANS)}")
    if not name.strip():
        raise ValueError("the account needs a name")
    site_id = "site_" + secrets.token_urlsafe(12)
    account_id = conn.execute(
        accounts.insert().values(name=name.strip(), plan=plan, site_id=site_id, created_at=now_ms())
    ).inserted_primary_key[0]
    return Account(account_id, name.strip(), plan, site_id)


def get_account(conn: sa.Connection, account_id: int) -> Account | None:
    row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
    return _account(row) if row else None


def account_by_site(conn: sa.Connection, site_id: str) -> Account | None:
    row = conn.execute(sa.select(accounts).where(accounts.c.site_id == site_id)).first()
    return _account(row) if row else None


def list_accounts(conn: sa.Connection) -> list[Account]:
    return [_account(r) for r in conn.execute(sa.select(accounts).order_by(accounts.c.id))]


def update_account(conn: sa.Connection, account_id: int, **values) -> None:
    conn.execute(accounts.update().where(accounts.c.id == account_id).values(**values))


def create_api_key(conn: sa.Connection, account_id: int, scopes: list[str], name: str = "") -> tuple[str, ApiKey]:
    """Returns the key itself (shown once) and its stored form (hash only)."""
    scopes_t = check_scopes(scopes)
    secret = new_secret("rk")
    key_id = conn.execute(
        api_keys.insert().values(
            account_id=account_id, name=name or "key", key_hash=hash_secret(secret), prefix=secret[:10],
            scopes=list(scopes_t), created_at=now_ms(),
        )
    ).inserted_primary_key[0]
    return secret, ApiKey(key_id, account_id, name or "key", scopes_t)


def key_by_secret(conn: sa.Connection, secret: str) -> ApiKey | None:
    row = conn.execute(
        sa.select(api_keys).where(api_keys.c.key_hash == hash_secret(secret), api_keys.c.revoked_at.is_(None))
    ).first()
    return ApiKey(row.id, row.account_id, row.name, tuple(row.scopes)) if row else None


def revoke_api_key(conn: sa.Connection, account_id: int, key_id: int) -> bool:
    result = conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.account_id == account_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now_ms())
    )
    return result.rowcount > 0
