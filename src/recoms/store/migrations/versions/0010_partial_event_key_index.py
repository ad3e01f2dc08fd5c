"""events' client keys indexed only where an event has one: most events carry none, and the unique index
held an entry for each of them (one of three indexes every stored event wrote)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

HAS_KEY = sa.text('event_key IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ux_events_account_event_key')
        batch_op.create_index('ux_events_account_event_key', ['account_id', 'event_key'], unique=True,
                              postgresql_where=HAS_KEY, sqlite_where=HAS_KEY)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ux_events_account_event_key')
        batch_op.create_index('ux_events_account_event_key', ['account_id', 'event_key'], unique=True)
