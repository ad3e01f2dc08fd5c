"""The Alembic migrations build exactly the schema the code declares, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from recoms.store.db import migrate
from recoms.store.tables import metadata


def test_migrations_match_the_tables(platform):
    migrate(platform.engine)  # idempotent: a second run changes nothing
    with platform.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
