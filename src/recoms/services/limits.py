"""Abuse limits: token buckets per API key, per public site id and per client address (failed sign-ins).

In-process and approximate by design (each serving process counts its own): they bound what one
caller can make one process do, which is what they are for.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from recoms.errors import TooManyRequests

MAX_BUCKETS = 100_000  # past this many callers the table starts afresh (memory stays bounded)


@dataclass
class Buckets:
    """`rate` requests a second per key, bursts of `burst`; rate 0 means no limit."""

    rate: float
    burst: float = 0.0
    _state: dict[object, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.burst = self.burst or max(1.0, self.rate * 2)

    def take(self, key: object, cost: float = 1.0) -> float:
        """Take `cost` from the key's bucket: 0 when allowed, else the seconds until it would be."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < cost:
                self._state[key] = (tokens, now)
                return (cost - tokens) / self.rate
            if len(self._state) > MAX_BUCKETS:
                self._state.clear()
            self._state[key] = (tokens - cost, now)
            return 0.0

    def wait(self, key: object) -> float:
        """Seconds until the key may take one more (0: now), without taking."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def check(self, key: object, what: str) -> None:
        wait = self.take(key)
        if wait:
            raise TooManyRequests(f"too many requests for this {what}: slow down", retry_after=int(wait) + 1)


class Limits:
    def __init__(self, per_key: float, per_site: float, auth_failures_per_minute: float) -> None:
        self.keys = Buckets(per_key)
        self.sites = Buckets(per_site)
        # Failed sign-ins per client address: a burst of the per-minute allowance, refilled over a minute.
        self.failures = Buckets(auth_failures_per_minute / 60.0, burst=auth_failures_per_minute)

    def check_address(self, address: str) -> None:
        """Refuse an address that failed to sign in too often (before its key is even looked at)."""
        wait = self.failures.wait(address)
        if wait:
            raise TooManyRequests("too many failed sign-ins from your address: wait, and check the key",
                                  retry_after=int(wait) + 1)

    def failed(self, address: str) -> None:
        self.failures.take(address)
