"""Contact tokens in Redis, for several API replicas (RECOMS_TOKEN_STORE=redis://...).

The exchange is one Lua script: check, consume, detect a replay and issue the next token atomically,
in one round trip. Keys: `recoms:tok:<sha256>` (a hash, expiring a day after the token) and
`recoms:chainrev:<chain>` (set when a replay revoked the chain).
"""

from __future__ import annotations

import time
import uuid

import redis

from recoms.domain.accounts import hash_secret
from recoms.store.tokens import Grant, new_token

GRACE_MS = 24 * 3600 * 1000  # replays are still recognised this long after expiry
PREFIX = "recoms:"

EXCHANGE = """
local f = redis.call('HMGET', KEYS[1], 'a', 'c', 'ch', 'u', 'e')
if not f[1] then return nil end
local revoked = ARGV[5] .. 'chainrev:' .. f[3]
if redis.call('EXISTS', revoked) == 1 then return nil end
if f[4] == '1' then
  redis.call('SET', revoked, '1', 'PX', tonumber(ARGV[3]) + tonumber(ARGV[4]))
  return nil
end
if tonumber(f[5]) <= tonumber(ARGV[1]) then return nil end
redis.call('HSET', KEYS[1], 'u', '1')
redis.call('HSET', KEYS[2], 'a', f[1], 'c', f[2], 'ch', f[3], 'u', '0', 'e', tonumber(ARGV[1]) + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]))
return {f[1], f[2], f[3]}
"""


class RedisTokenStore:
    def __init__(self, url: str, ttl_seconds: int, prefix: str = PREFIX) -> None:
        # Short timeouts: a Redis that stops answering must give a 503 in seconds, not hang a worker.
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                           health_check_interval=15)
        self.ttl_ms = ttl_seconds * 1000
        self.prefix = prefix
        self._exchange = self.client.register_script(EXCHANGE)

    def _key(self, token: str) -> str:
        return f"{self.prefix}tok:{hash_secret(token)}"

    def issue(self, account_id: int, contact_id: int) -> str:
        token = new_token()
        now = int(time.time() * 1000)
        key = self._key(token)
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={"a": account_id, "c": contact_id, "ch": uuid.uuid4().hex, "u": 0,
                                "e": now + self.ttl_ms})
        pipe.pexpire(key, self.ttl_ms + GRACE_MS)
        pipe.execute()
        return token

    def exchange(self, token: str) -> tuple[Grant, str] | None:
        nxt = new_token()
        now = int(time.time() * 1000)
        found = self._exchange(
            keys=[self._key(token), self._key(nxt)], args=[now, "", self.ttl_ms, GRACE_MS, self.prefix]
        )
        if not found:
            return None
        account, contact, chain = found
        return Grant(int(account), int(contact), chain.decode()), nxt

    def purge_expired(self) -> int:
        return 0  # Redis expires the keys itself

    def ping(self) -> None:
        self.client.ping()
