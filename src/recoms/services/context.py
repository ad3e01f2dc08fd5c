"""What every use case needs: settings, the SQL engine, the hot path's driver connections, the token store.
Built once per process."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from recoms.settings import Settings
from recoms.store.db import DriverConnections, make_engine, migrate
from recoms.store.tokens import SqlTokenStore, TokenStore


@dataclass
class Context:
    settings: Settings
    engine: sa.Engine
    tokens: TokenStore
    # The hot path's single statements (token exchanges, history reads): store.db.DriverConnections.
    connections: DriverConnections

    def close(self) -> None:
        self.connections.close()
        self.engine.dispose()


def make_token_store(settings: Settings, engine: sa.Engine, connections: DriverConnections) -> TokenStore:
    if settings.token_store == "database":  # noqa: S105 - a backend name, not a secret
        return SqlTokenStore(engine, settings.token_ttl_seconds, connections)
    if settings.token_store.startswith(("redis://", "rediss://", "unix://")):
        from recoms.store.redis_tokens import RedisTokenStore

        return RedisTokenStore(settings.token_store, settings.token_ttl_seconds)
    raise ValueError(f"RECOMS_TOKEN_STORE must be 'database' or a redis:// URL, got {settings.token_store!r}")


def build_context(settings: Settings) -> Context:
    engine = make_engine(settings.database_url)
    migrate(engine)
    connections = DriverConnections(engine)
    return Context(settings, engine, make_token_store(settings, engine, connections), connections)
