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

    def ping(self) -> None:
        """Raise when the store does not answer (readiness)."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqlTokenStore:
    """Tokens in the SQL database (the default): one short write transaction per exchange.

    The hot path runs two fixed statements on a pooled DBAPI connection: SQLAlchemy still owns the
    connections, but its statement compilation (~60 µs a request, measured) is skipped.
    """

    def __init__(self, engine: sa.Engine, ttl_seconds: int) -> None:
        self.engine = engine
        self.ttl_ms = ttl_seconds * 1000
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.sqlite = engine.dialect.name == "sqlite"
        self._consume = (
            f"UPDATE tokens SET used_at = {mark} WHERE token_hash = {mark} AND used_at IS NULL "
            f"AND expires_at > {mark} AND chain_id NOT IN (SELECT chain_id FROM revoked_chains) "
            "RETURNING account_id, contact_id, chain_id"
        )
        self._insert_sql = (
            "INSERT INTO tokens (token_hash, account_id, contact_id, chain_id, expires_at, used_at) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, NULL)"
        )
        self._find = f"SELECT used_at, chain_id FROM tokens WHERE token_hash = {mark}"
        self._revoke = (
            f"INSERT INTO revoked_chains (chain_id, revoked_at) VALUES ({mark}, {mark}) "
            "ON CONFLICT (chain_id) DO NOTHING"
        )

    def _run(self, work):
        """Run `work(cursor)` in one transaction on a pooled connection."""
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            if self.sqlite:
                cur.execute("BEGIN IMMEDIATE")  # the driver is in autocommit mode (see store.db)
            try:
                result = work(cur)
            except BaseException:
                if self.sqlite:
                    cur.execute("ROLLBACK")
                else:
                    raw.rollback()
                raise
            if self.sqlite:
                cur.execute("COMMIT")
            else:
                raw.commit()
            cur.close()
            return result
        finally:
            raw.close()

    def _insert(self, cur, grant: Grant, now: int) -> str:
        token = new_token()
        cur.execute(self._insert_sql, (hash_secret(token), grant.account_id, grant.contact_id, grant.chain_id,
                                       now + self.ttl_ms))
        return token

    def issue(self, account_id: int, contact_id: int) -> str:
        grant = Grant(account_id, contact_id, uuid.uuid4().hex)
        return self._run(lambda cur: self._insert(cur, grant, _now_ms()))

    def exchange(self, token: str) -> tuple[Grant, str] | None:
        digest = hash_secret(token)
        now = _now_ms()

        def work(cur):
            cur.execute(self._consume, (now, digest, now))
            row = cur.fetchone()
            if row is not None:
                grant = Grant(int(row[0]), int(row[1]), row[2])
                return grant, self._insert(cur, grant, now)
            cur.execute(self._find, (digest,))
            seen = cur.fetchone()
            if seen is not None and seen[0] is not None:
                cur.execute(self._revoke, (seen[1], now))
            return None

        return self._run(work)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def purge_expired(self) -> int:
        # A day of grace keeps replay detection working for recently expired chains.
        cutoff = _now_ms() - 24 * 3600 * 1000
        with self.engine.begin() as conn:
            return conn.execute(tokens.delete().where(tokens.c.expires_at < cutoff)).rowcount
