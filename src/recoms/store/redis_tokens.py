"""Contact tokens in Redis, for several API replicas (RECOMS_TOKEN_STORE=redis://...).

Same tokens as the SQL store (`<chain><secret><seq>`, see tokens.py), one hash per chain keyed by the
chain id's hash: `recoms:chain:<sha256>` with the account, contact, current sequence number, current
secret's hash, expiry and revoked flag. A batch of exchanges is one call of a Lua script: one round trip.
One Redis server (with replicas or not): a script call names many chains, which a Redis Cluster
would spread over its nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
import weakref
from collections.abc import Sequence

import redis
import redis.asyncio

from recoms.domain.accounts import hash_secret
from recoms.store.tokens import GRACE_MS, Grant, format_token, new_chain, new_secret, parse_token

PREFIX = "recoms:"

# A batch of exchanges in one script call, applied in order (a token replayed within the batch still
# revokes its chain). KEYS: the chains' keys; ARGV: now, the lifetime and the grace (ms), then three per
# key: the sequence number asked, the secret's hash, the next secret's hash. One reply per key: the
# chain's (account, contact), or nil when refused.
EXCHANGE = """
local now, ttl, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i, key in ipairs(KEYS) do
  local at = 1 + i * 3
  out[i] = false
  local f = redis.call('HMGET', key, 'a', 'c', 's', 'h', 'e', 'r')
  if f[1] and f[6] ~= '1' then
    local seq, asked = tonumber(f[3]), tonumber(ARGV[at])
    if asked < seq then
      redis.call('HSET', key, 'r', '1')
    elseif asked == seq and f[4] == ARGV[at + 1] and tonumber(f[5]) > now then
      redis.call('HSET', key, 's', seq + 1, 'h', ARGV[at + 2], 'e', now + ttl)
      redis.call('PEXPIRE', key, ttl + grace)
      out[i] = {f[1], f[2]}
    end
  end
end
return out
"""


def pack(*args: bytes) -> bytes:
    """One command in Redis' protocol (RESP): the exchange's arguments are bytes already, and redis-py's
    general packer (types checked and encoded one by one) cost more than the round trip."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)


class RedisTokenStore:
    """The exchange runs on a few connections of its own, outside redis-py's pool: a command sent and its
    answer read, nothing else (the pool's checkout, the client's retry wrappers and the script helper
    cost more than the round trip itself). The connections keep the pool's settings: timeouts, and a
    health check before a command after 15 s idle."""

    MAX_IDLE = 8

    def __init__(self, url: str, ttl_seconds: int, prefix: str = PREFIX) -> None:
        # Short timeouts: a Redis that stops answering must give a 503 in seconds, not hang a worker.
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                           health_check_interval=15)
        self.ttl_ms = ttl_seconds * 1000
        self.prefix = prefix
        self._sha = hashlib.sha1(EXCHANGE.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
        self._idle: list = []
        self._lock = threading.Lock()
        # The same settings for the event loops' own connections (exchange_many_async), kept per loop.
        self._async_pool = redis.asyncio.ConnectionPool.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=15)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopConnections] = (
            weakref.WeakKeyDictionary())

    def _command(self, packed: bytes):
        """One command's reply, on a connection of our own."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        conn = conn or self.client.connection_pool.make_connection()
        try:
            conn.send_packed_command([packed])  # a list: a bare bytes object would be sent byte by byte
            reply = conn.read_response()
        except redis.exceptions.ResponseError:  # an answer (NOSCRIPT, say): the connection is fine
            self._keep(conn)
            raise
        except BaseException as exc:
            conn.disconnect()
            if isinstance(exc, redis.exceptions.ConnectionError):  # Redis went away: so did the idle ones
                with self._lock:
                    idle, self._idle = self._idle, []
                for other in idle:
                    other.disconnect()
            raise
        self._keep(conn)
        return reply

    def _keep(self, conn) -> None:
        with self._lock:
            if len(self._idle) < self.MAX_IDLE:
                self._idle.append(conn)
                return
        conn.disconnect()

    def _key(self, chain_hash: str) -> str:
        return f"{self.prefix}chain:{chain_hash}"

    def issue(self, account_id: int, contact_id: int) -> str:
        chain, secret = new_chain(), new_secret()
        key = self._key(hash_secret(chain))
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={"a": account_id, "c": contact_id, "s": 0, "h": hash_secret(secret),
                                "e": int(time.time() * 1000) + self.ttl_ms, "r": 0})
        pipe.pexpire(key, self.ttl_ms + GRACE_MS)
        pipe.execute()
        return format_token(chain, 0, secret)

    def exchange(self, token: str) -> tuple[Grant, str] | None:
        return self.exchange_many([token])[0]

    def exchange_many(self, tokens: Sequence[str]) -> list[tuple[Grant, str] | None]:
        """`exchange` of each token in order: one script call, one round trip for them all."""
        results, asked, packed = self._request(tokens)
        if not asked:
            return results
        try:
            replies = self._command(packed)
        except redis.exceptions.NoScriptError:  # a restarted Redis forgot the script: it did not run
            self._command(pack(b"SCRIPT", b"LOAD", EXCHANGE.encode()))
            replies = self._command(packed)
        return self._results(results, asked, replies)

    async def exchange_many_async(self, tokens: Sequence[str]) -> list[tuple[Grant, str] | None]:
        """`exchange_many` on the caller's event loop: the round trip awaited, no thread in between."""
        results, asked, packed = self._request(tokens)
        if not asked:
            return results
        connections = self._async_connections()
        try:
            replies = await connections.command(packed)
        except redis.exceptions.NoScriptError:  # as in exchange_many
            await connections.command(pack(b"SCRIPT", b"LOAD", EXCHANGE.encode()))
            replies = await connections.command(packed)
        return self._results(results, asked, replies)

    def _request(self, tokens: Sequence[str]) -> tuple[list, list, bytes]:
        """(a result per token, None so far; the well-formed ones with their next secrets; the script call)."""
        parsed = [parse_token(token) for token in tokens]
        asked = [(i, p, new_secret()) for i, p in enumerate(parsed) if p is not None]
        keys = [self._key(p.chain_hash).encode() for _, p, _ in asked]
        per_key = [arg for _, p, secret in asked
                   for arg in (b"%d" % p.seq, p.secret_hash.encode(), hash_secret(secret).encode())]
        packed = pack(b"EVALSHA", self._sha.encode(), b"%d" % len(keys), *keys,
                      b"%d" % int(time.time() * 1000), b"%d" % self.ttl_ms, b"%d" % GRACE_MS, *per_key)
        return [None] * len(parsed), asked, packed

    @staticmethod
    def _results(results: list, asked: list, replies: list) -> list[tuple[Grant, str] | None]:
        for (i, p, secret), reply in zip(asked, replies, strict=True):
            if reply:
                results[i] = (Grant(int(reply[0]), int(reply[1]), p.chain_hash),
                              format_token(p.chain, p.seq + 1, secret))
        return results

    def _async_connections(self) -> _LoopConnections:
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is None:
            found = self._loops[loop] = _LoopConnections(self._async_pool)
        return found

    def purge_expired(self) -> int:
        return 0  # Redis expires the keys itself

    def ping(self) -> None:
        self.client.ping()


class _LoopConnections:
    """One event loop's connections to Redis: a command sent and its reply read on the loop (a
    connection belongs to the loop it was opened on)."""

    MAX_CONNECTIONS = 8

    def __init__(self, pool: redis.asyncio.ConnectionPool) -> None:
        self.pool = pool
        self.idle: list = []
        # Batches beyond this wait for a connection: one opened per waiting batch, to be closed after,
        # would cost more than the wait.
        self.free = asyncio.Semaphore(self.MAX_CONNECTIONS)

    async def command(self, packed: bytes):
        """One command's reply (an error reply raised): one round trip."""
        async with self.free:
            return await self._command(packed)

    async def _command(self, packed: bytes):
        conn = self.idle.pop() if self.idle else self.pool.make_connection()
        try:
            await conn.send_packed_command(packed)
            reply = await conn.read_response()
        except redis.exceptions.ResponseError:  # an answer (NOSCRIPT, say): the connection is fine
            self.idle.append(conn)
            raise
        except BaseException as exc:
            await _disconnect(conn)
            if isinstance(exc, redis.exceptions.ConnectionError):  # Redis went away: so did the idle ones
                idle, self.idle = self.idle, []
                for other in idle:
                    await _disconnect(other)
            raise
        self.idle.append(conn)
        return reply


async def _disconnect(conn) -> None:
    with contextlib.suppress(Exception):  # a connection that is gone is what we wanted
        await conn.disconnect()
