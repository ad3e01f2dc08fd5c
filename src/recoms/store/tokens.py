"""Single-use contact tokens (SPEC §2): the TokenStore protocol and its SQL implementation.

A token is `<chain><secret><seq>`: a random chain id (128 bits, 22 characters), a random secret (256
bits, 43 characters) and the chain's sequence number (digits), URL-safe. The store keeps one row per
chain with the hash of the chain id and of its current secret. `exchange` is ONE conditional update:
the token's sequence number and secret must be the chain's current ones; the chain moves to the next,
and the caller gets that token. A token of an earlier sequence number presented again means it leaked:
the whole chain is revoked (a second statement, on that path only). `exchange_many` exchanges a whole
batch in one transaction (one commit): on PostgreSQL in one statement (one round trip instead of one per
token), on SQLite one statement per token (local calls: cheaper than unpacking the batch from JSON).
The Redis implementation lives in `redis_tokens.py`.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

import sqlalchemy as sa

from recoms.domain.accounts import hash_secret
from recoms.store import history_marks
from recoms.store.db import DriverConnections, WriteLockBusy
from recoms.store.tables import token_chains


class Grant(NamedTuple):  # a tuple: built at every token exchange, cheaper than a frozen dataclass
    account_id: int
    contact_id: int
    chain_id: str  # the chain's hash: the same for every token of one chain
    # (the live contact, its history mark) as the exchange saw them (store.history_marks), read in its
    # statement so that serving need not; None where the store cannot tell (Redis).
    history: tuple[int, int | None] | None = None


def _history(live: int | None, mark: int | None) -> tuple[int, int | None] | None:
    return None if live is None else (int(live), None if mark is None else int(mark))


class TokenStore(Protocol):
    def issue(self, account_id: int, contact_id: int) -> str:
        """A new token starting a new chain."""

    def exchange(self, token: str) -> tuple[Grant, str] | None:
        """Consume `token` and return its grant and the next token; None when it is not valid."""

    def exchange_many(self, tokens: Sequence[str]) -> list[tuple[Grant, str] | None]:
        """`exchange` of each token, in order, at the cost of about one (the hot path's batches)."""

    def purge_expired(self) -> int:
        """Forget chains that expired long ago; returns how many."""

    def ping(self) -> None:
        """Raise when the store does not answer (readiness)."""


class ParsedToken(NamedTuple):
    chain_hash: str
    seq: int
    secret_hash: str
    chain: str  # as in the token, to build the next one


def new_chain() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_secrets(n: int) -> list[str]:
    """`n` secrets as `new_secret` makes them, from one read of the system's randomness (a batch's)."""
    raw = secrets.token_bytes(32 * n)
    return [base64.urlsafe_b64encode(raw[i:i + 32]).rstrip(b"=").decode() for i in range(0, 32 * n, 32)]


CHAIN_CHARS, SECRET_CHARS = 22, 43


def format_token(chain: str, seq: int, secret: str) -> str:
    return f"{chain}{secret}{seq}"


def parse_token(token: str) -> ParsedToken | None:
    """The parts of a well-formed token, or None (a malformed one is simply unknown)."""
    chain, secret, seq = token[:CHAIN_CHARS], token[CHAIN_CHARS:CHAIN_CHARS + SECRET_CHARS], token[
        CHAIN_CHARS + SECRET_CHARS:]
    if len(secret) != SECRET_CHARS or not seq.isdigit() or len(seq) > 18:
        return None
    return ParsedToken(hash_secret(chain), int(seq), hash_secret(secret), chain)


# A day of grace keeps replay detection working for recently expired chains.
GRACE_MS = 24 * 3600 * 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqlTokenStore:
    """Tokens in the SQL database (the default): one autocommitted statement per exchange, on the store's
    own driver connections (`DriverConnections`: no BEGIN/COMMIT, no pool reset)."""

    def __init__(self, engine: sa.Engine, ttl_seconds: int, connections: DriverConnections | None = None) -> None:
        self.engine = engine
        self.ttl_ms = ttl_seconds * 1000
        self.connections = connections or DriverConnections(engine)
        mark = self.connections.mark
        true, false = ("1", "0") if self.connections.sqlite else ("TRUE", "FALSE")
        self._advance = (
            f"UPDATE token_chains SET seq = seq + 1, secret_hash = {mark}, expires_at = {mark} "
            f"WHERE chain_hash = {mark} AND seq = {mark} AND secret_hash = {mark} AND expires_at > {mark} "
            f"AND revoked = {false} RETURNING account_id, contact_id, {history_marks.live_mark_columns('contact_id')}"
        )
        self._revoke = f"UPDATE token_chains SET revoked = {true} WHERE chain_hash = {mark} AND seq > {mark}"
        self._insert = (
            "INSERT INTO token_chains (chain_hash, account_id, contact_id, seq, secret_hash, expires_at, revoked) "
            f"VALUES ({mark}, {mark}, {mark}, 0, {mark}, {mark}, {false})"
        )
        # PostgreSQL: one statement for a batch, the rows to advance as arrays.
        self._advance_many = (
            "UPDATE token_chains SET seq = token_chains.seq + 1, secret_hash = v.new_hash, expires_at = v.expires "
            "FROM (SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::bigint[]) "
            "AS v(chain_hash, seq, secret_hash, new_hash, expires)) AS v "
            "WHERE token_chains.chain_hash = v.chain_hash AND token_chains.seq = v.seq "
            "AND token_chains.secret_hash = v.secret_hash AND token_chains.expires_at > %s "
            "AND token_chains.revoked = FALSE "
            "RETURNING token_chains.chain_hash, token_chains.account_id, token_chains.contact_id, "
            f"{history_marks.live_mark_columns('token_chains.contact_id')}"
        )
        self._execute = self.connections.execute

    def issue(self, account_id: int, contact_id: int) -> str:
        chain, secret = new_chain(), new_secret()
        self._execute(self._insert, (hash_secret(chain), account_id, contact_id, hash_secret(secret),
                                     _now_ms() + self.ttl_ms))
        return format_token(chain, 0, secret)

    def exchange(self, token: str) -> tuple[Grant, str] | None:
        parsed = parse_token(token)
        return None if parsed is None else self._exchange(self._execute, parsed)

    def exchange_many(self, tokens: Sequence[str], wait: bool = True) -> list[tuple[Grant, str] | None]:
        """`exchange` of each token in order, in one transaction: one commit for them all (PostgreSQL:
        one statement for the first token of each chain; chains are independent, so only the order within
        a chain matters: a chain's later tokens in the batch, a replay racing its original, go one by one
        after it). `wait=False`: WriteLockBusy at once when another writer holds SQLite's write lock."""
        parsed = [parse_token(token) for token in tokens]
        if not any(parsed):
            return [None] * len(parsed)
        return self.connections.transaction(lambda execute: self._exchange_batch(execute, parsed), wait)

    def try_exchange_many(self, tokens: Sequence[str]) -> list[tuple[Grant, str] | None] | None:
        """`exchange_many`, or None at once when it would wait for another writer (SQLite's write lock)."""
        try:
            return self.exchange_many(tokens, wait=False)
        except WriteLockBusy:
            return None

    def _exchange_batch(self, execute: Callable[[str, tuple], list], parsed: list[ParsedToken | None]
                        ) -> list[tuple[Grant, str] | None]:
        if self.connections.sqlite:  # in order, one by one: measured cheaper than one statement from JSON
            now, fresh = _now_ms(), new_secrets(len(parsed))
            return [None if p is None else self._exchange(execute, p, now, secret)
                    for p, secret in zip(parsed, fresh, strict=True)]
        results: list[tuple[Grant, str] | None] = [None] * len(parsed)
        firsts: dict[str, int] = {}  # chain hash -> its first position in the batch
        again: list[int] = []
        for i, p in enumerate(parsed):
            if p is not None:
                if p.chain_hash in firsts:
                    again.append(i)
                else:
                    firsts[p.chain_hash] = i
        now = _now_ms()
        fresh = dict(zip(firsts.values(), new_secrets(len(firsts)), strict=True))
        rows = [(parsed[i].chain_hash, parsed[i].seq, parsed[i].secret_hash, hash_secret(fresh[i]), now + self.ttl_ms)
                for i in firsts.values()]
        arrays = [list(column) for column in zip(*rows, strict=True)]  # one array per column
        granted = {r[0]: r for r in execute(self._advance_many, (*arrays, now))}
        for chain_hash, i in firsts.items():
            p = parsed[i]
            if chain_hash in granted:
                r = granted[chain_hash]
                results[i] = (Grant(int(r[1]), int(r[2]), chain_hash, _history(r[3], r[4])),
                              format_token(p.chain, p.seq + 1, fresh[i]))
            else:  # refused: an earlier token of this chain came back, it leaked (as in `_exchange`)
                execute(self._revoke, (chain_hash, p.seq))
        for i in again:
            results[i] = self._exchange(execute, parsed[i])
        return results

    def _exchange(self, execute: Callable[[str, tuple], list], parsed: ParsedToken, now: int | None = None,
                  secret: str | None = None) -> tuple[Grant, str] | None:
        """One token's exchange; `now` and its next `secret` given by a batch, or made here."""
        now, secret = now or _now_ms(), secret or new_secret()
        rows = execute(self._advance, (hash_secret(secret), now + self.ttl_ms, parsed.chain_hash, parsed.seq,
                                       parsed.secret_hash, now))
        if rows:
            r = rows[0]
            grant = Grant(int(r[0]), int(r[1]), parsed.chain_hash, _history(r[2], r[3]))
            return grant, format_token(parsed.chain, parsed.seq + 1, secret)
        # Refused. A token of this chain from before its current one was used already: it leaked.
        execute(self._revoke, (parsed.chain_hash, parsed.seq))
        return None

    def ping(self) -> None:
        self._execute("SELECT 1", ())

    def purge_expired(self) -> int:
        cutoff = _now_ms() - GRACE_MS
        with self.engine.begin() as conn:
            return conn.execute(token_chains.delete().where(token_chains.c.expires_at < cutoff)).rowcount
