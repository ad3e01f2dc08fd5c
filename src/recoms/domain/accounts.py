"""Accounts, plans and API-key scopes (SPEC §1)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

PLANS = ("basic", "extra")
PLANS_WITH_RECOMMENDATIONS = ("extra",)
SCOPES = (
    "contacts:token", "recoms:read", "tracking:write", "catalog:write", "datasources:manage", "contacts:manage",
    # The key a mobile app ships with (the Reteno SDK's access key): its recommendation request, its
    # events and its recommendation impressions and clicks, nothing else.
    "mobile",
)
ADMIN = "admin"
# What a site id can look like (ours: `site_` + URL-safe base64; the platform's: 32 hex digits).
SITE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    plan: str
    site_id: str
    feed_url: str | None = None

    @property
    def has_recommendations(self) -> bool:
        return self.plan in PLANS_WITH_RECOMMENDATIONS


@dataclass(frozen=True)
class ApiKey:
    id: int
    account_id: int
    name: str
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes


def new_secret(prefix: str) -> str:
    """A high-entropy, URL-safe secret (256 random bits) with a readable prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """Keys and tokens are stored only as this hash (SHA-256 is enough for 256-bit random secrets)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in (*SCOPES, ADMIN)]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join((*SCOPES, ADMIN))}")
    if not scopes:
        raise ValueError("at least one scope is needed")
    return tuple(dict.fromkeys(scopes))
