"""Single-use contact tokens (SPEC §2): the TokenStore protocol and its SQL implementation.

A token is 256 random bits, URL-safe, stored only as its SHA-256. `exchange` consumes one atomically
and issues the next in the same chain; presenting a used token again revokes its whole chain, since
that means it leaked. The Redis implementation lives in `redis_tokens.py`.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from recoms.domain.accounts import hash_secret
from recoms.store.tables import tokens


@dataclass(frozen=True, slots=True)
class Grant:
    account_id: int
    contact_id: int
    chain_id: str


class TokenStore(Protocol):
    def issue(self, account_id: int, contact_id: int) -> str:
        """A new token starting a new chain."""

    def exchange(self, token: str) -> tuple[Grant, str] | None:
        """Consume `token` and return its grant and the next token; None when it is not valid."""

    def purge_expired(self) -> int:
        """Forget tokens that expired long ago; returns how many."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqlTokenStore:
    """Tokens in the SQL database (the default; one UPDATE ... RETURNING per exchange)."""

    def __init__(self, engine: sa.Engine, ttl_seconds: int) -> None:
        self.engine = engine
        self.ttl_ms = ttl_seconds * 1000
        t = tokens.c
        self._consume = (
            tokens.update()
            .where(
                t.token_hash == sa.bindparam("h"), t.used_at.is_(None), t.revoked.is_(False),
                t.expires_at > sa.bindparam("now"),
            )
            .values(used_at=sa.bindparam("now"))
            .returning(t.account_id, t.contact_id, t.chain_id)
        )
        self._find = sa.select(t.used_at, t.chain_id).where(t.token_hash == sa.bindparam("h"))
        self._revoke = tokens.update().where(t.chain_id == sa.bindparam("chain")).values(revoked=True)

    def _insert(self, conn: sa.Connection, grant: Grant, now: int) -> str:
        token = new_token()
        conn.execute(
            tokens.insert().values(
                token_hash=hash_secret(token), account_id=grant.account_id, contact_id=grant.contact_id,
                chain_id=grant.chain_id, expires_at=now + self.ttl_ms, used_at=None, revoked=False,
            )
        )
        return token

    def issue(self, account_id: int, contact_id: int) -> str:
        with self.engine.begin() as conn:
            return self._insert(conn, Grant(account_id, contact_id, uuid.uuid4().hex), _now_ms())

    def exchange(self, token: str) -> tuple[Grant, str] | None:
        digest = hash_secret(token)
        now = _now_ms()
        with self.engine.begin() as conn:
            row = conn.execute(self._consume, {"h": digest, "now": now}).first()
            if row is not None:
                grant = Grant(row.account_id, row.contact_id, row.chain_id)
                return grant, self._insert(conn, grant, now)
            seen = conn.execute(self._find, {"h": digest}).first()
            if seen is not None and seen.used_at is not None:
                conn.execute(self._revoke, {"chain": seen.chain_id})
        return None

    def purge_expired(self) -> int:
        # A day of grace keeps replay detection working for recently expired chains.
        cutoff = _now_ms() - 24 * 3600 * 1000
        with self.engine.begin() as conn:
            return conn.execute(tokens.delete().where(tokens.c.expires_at < cutoff)).rowcount
