"""The Alembic migrations build exactly the schema the code declares, on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from recoms.store.db import alembic_config, migrate
from recoms.store.tables import metadata


def test_migrations_match_the_tables(platform):
    migrate(platform.engine)  # idempotent: a second run changes nothing
    with platform.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_contacts_with_interactions_before_history_marks_get_one(tmp_path):
    """Migration 0011: a NULL mark says "no interactions" (serving then reads no history), so the contacts
    that had interactions before marks existed are marked."""
    engine = sa.create_engine(f"sqlite:///{tmp_path}/old.db")
    command.upgrade(alembic_config(engine), "0010")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO accounts (id, name, plan, site_id, created_at) "
                             "VALUES (1, 'shop', 'extra', 's1', 0)")
        for contact in (1, 2):
            conn.exec_driver_sql("INSERT INTO contacts (id, account_id, attributes, created_at, updated_at) "
                                 "VALUES (?, 1, '{}', 0, 0)", (contact,))
        conn.exec_driver_sql("INSERT INTO interactions (account_id, contact_id, kind, product_id, ts, quantity) "
                             "VALUES (1, 1, 1, 'P1', 0, 1)")
    migrate(engine)
    with engine.connect() as conn:
        marks = dict(conn.exec_driver_sql("SELECT id, history_mark FROM contacts").all())
    assert marks[1] is not None and marks[2] is None
