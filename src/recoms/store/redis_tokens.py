"""Contact tokens in Redis, for several API replicas (RECOMS_TOKEN_STORE=redis://...).

Same tokens as the SQL store (`<chain><secret><seq>`, see tokens.py), one hash per chain keyed by the
chain id's hash: `recoms:chain:<sha256>` with the account, contact, current sequence number, current
secret's hash, expiry and revoked flag. The exchange is one Lua script: one round trip.
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

EXCHANGE = """
local f = redis.call('HMGET', KEYS[1], 'a', 'c', 's', 'h', 'e', 'r')
if not f[1] or f[6] == '1' then return nil end
local seq, asked, now = tonumber(f[3]), tonumber(ARGV[1]), tonumber(ARGV[3])
if asked < seq then
  redis.call('HSET', KEYS[1], 'r', '1')
  return nil
end
if asked ~= seq or f[4] ~= ARGV[2] or tonumber(f[5]) <= now then return nil end
redis.call('HSET', KEYS[1], 's', seq + 1, 'h', ARGV[4], 'e', now + tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]) + tonumber(ARGV[6]))
return {f[1], f[2]}
"""


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

    def _command(self, *args):
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        conn = conn or self.client.connection_pool.make_connection()
        try:
            conn.send_command(*args)
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

    def _pipeline(self, commands: list[tuple]) -> list:
        """Each command's reply (an error reply as its exception), all sent in one write: one round trip."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        conn = conn or self.client.connection_pool.make_connection()
        replies: list = []
        try:
            conn.send_packed_command(conn.pack_commands(commands))
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except redis.exceptions.ResponseError as exc:  # an answer: the others follow it
                    replies.append(exc)
        except BaseException:
            conn.disconnect()
            raise
        self._keep(conn)
        return replies

    def _run_exchange(self, key: str, args: list) -> list | None:
        try:
            return self._command("EVALSHA", self._sha, 1, key, *args)
        except redis.exceptions.NoScriptError:  # a restarted Redis forgot the script: it did not run
            self._command("SCRIPT", "LOAD", EXCHANGE)
            return self._command("EVALSHA", self._sha, 1, key, *args)

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
        parsed = parse_token(token)
        if parsed is None:
            return None
        secret = new_secret()
        found = self._run_exchange(self._key(parsed.chain_hash), [
            parsed.seq, parsed.secret_hash, int(time.time() * 1000), hash_secret(secret), self.ttl_ms, GRACE_MS])
        if not found:
            return None
        account, contact = found
        return Grant(int(account), int(contact), parsed.chain_hash), format_token(parsed.chain, parsed.seq + 1, secret)

    def exchange_many(self, tokens: Sequence[str]) -> list[tuple[Grant, str] | None]:
        """`exchange` of each token in order, pipelined: one round trip for them all."""
        results, asked, commands = self._commands(tokens)
        if not asked:
            return results
        replies = self._pipeline(commands)
        again = _forgotten(replies)
        if again:  # a restarted Redis forgot the script; those refused did not run: again, in order
            self._command("SCRIPT", "LOAD", EXCHANGE)
            for i, reply in zip(again, self._pipeline([commands[i] for i in again]), strict=True):
                replies[i] = reply
        return self._results(results, asked, replies)

    async def exchange_many_async(self, tokens: Sequence[str]) -> list[tuple[Grant, str] | None]:
        """`exchange_many` on the caller's event loop: the round trip awaited, no thread in between."""
        results, asked, commands = self._commands(tokens)
        if not asked:
            return results
        connections = self._async_connections()
        replies = await connections.pipeline(commands)
        again = _forgotten(replies)
        if again:  # as in exchange_many
            await connections.pipeline([("SCRIPT", "LOAD", EXCHANGE)])
            for i, reply in zip(again, await connections.pipeline([commands[i] for i in again]), strict=True):
                replies[i] = reply
        return self._results(results, asked, replies)

    def _commands(self, tokens: Sequence[str]) -> tuple[list, list, list[tuple]]:
        parsed = [parse_token(token) for token in tokens]
        asked = [(i, p, new_secret()) for i, p in enumerate(parsed) if p is not None]
        now = int(time.time() * 1000)
        commands = [("EVALSHA", self._sha, 1, self._key(p.chain_hash), p.seq, p.secret_hash, now, hash_secret(secret),
                     self.ttl_ms, GRACE_MS) for _, p, secret in asked]
        return [None] * len(parsed), asked, commands

    @staticmethod
    def _results(results: list, asked: list, replies: list) -> list[tuple[Grant, str] | None]:
        for (i, p, secret), reply in zip(asked, replies, strict=True):
            if isinstance(reply, Exception):
                raise reply
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


def _forgotten(replies: list) -> list[int]:
    """The commands Redis refused because it does not know the script (it restarted): they did not run."""
    return [i for i, r in enumerate(replies) if isinstance(r, redis.exceptions.NoScriptError)]


class _LoopConnections:
    """One event loop's connections to Redis: a pipeline sent and its replies read on the loop (a
    connection belongs to the loop it was opened on)."""

    MAX_CONNECTIONS = 8

    def __init__(self, pool: redis.asyncio.ConnectionPool) -> None:
        self.pool = pool
        self.idle: list = []
        # Batches beyond this wait for a connection: one opened per waiting batch, to be closed after,
        # would cost more than the wait.
        self.free = asyncio.Semaphore(self.MAX_CONNECTIONS)

    async def pipeline(self, commands: list[tuple]) -> list:
        """Each command's reply (an error reply as its exception), sent in one write: one round trip."""
        async with self.free:
            return await self._pipeline(commands)

    async def _pipeline(self, commands: list[tuple]) -> list:
        conn = self.idle.pop() if self.idle else self.pool.make_connection()
        replies: list = []
        try:
            await conn.send_packed_command(conn.pack_commands(commands))
            for _ in commands:
                try:
                    replies.append(await conn.read_response())
                except redis.exceptions.ResponseError as exc:  # an answer: the others follow it
                    replies.append(exc)
        except BaseException as exc:
            await _disconnect(conn)
            if isinstance(exc, redis.exceptions.ConnectionError):  # Redis went away: so did the idle ones
                idle, self.idle = self.idle, []
                for other in idle:
                    await _disconnect(other)
            raise
        self.idle.append(conn)
        return replies


async def _disconnect(conn) -> None:
    with contextlib.suppress(Exception):  # a connection that is gone is what we wanted
        await conn.disconnect()
