"""Alembic environment: the engine comes from `recoms.store.db.alembic_config`."""

from alembic import context

from recoms.store.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
