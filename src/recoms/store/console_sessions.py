"""Web console sign-ins (the `console_sessions` table): a token's hash, its account and API key."""

from __future__ import annotations

import sqlalchemy as sa

from recoms.store.tables import api_keys, console_sessions

s = console_sessions.c


def create(conn: sa.Connection, token_hash: str, account_id: int, key_id: int, now: int, expires_at: int) -> None:
    conn.execute(console_sessions.delete().where(s.expires_at < now))  # sign-ins are few: tidy as we go
    conn.execute(console_sessions.insert().values(token_hash=token_hash, account_id=account_id, key_id=key_id,
                                                  created_at=now, expires_at=expires_at))


def live(conn: sa.Connection, token_hash: str, now: int) -> tuple[int, int] | None:
    """(account id, key id) of a session not expired whose API key is not revoked."""
    row = conn.execute(
        sa.select(s.account_id, s.key_id)
        .join(api_keys, api_keys.c.id == s.key_id)
        .where(s.token_hash == token_hash, s.expires_at > now, api_keys.c.revoked_at.is_(None))
    ).first()
    return (row.account_id, row.key_id) if row else None


def delete(conn: sa.Connection, token_hash: str) -> None:
    conn.execute(console_sessions.delete().where(s.token_hash == token_hash))
