"""contacts' history marks: a value that changes with the contact's interactions, so serving can keep a
returning customer's answer until their history changes (store.history_marks)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history_mark', sa.BigInteger(), nullable=True))
    # NULL says "no interactions": the contacts that have some get a mark. Later marks are random 62-bit
    # values, so this one is never given back to the same contact for another history.
    op.execute("UPDATE contacts SET history_mark = 1 WHERE EXISTS "
               "(SELECT 1 FROM interactions WHERE interactions.account_id = contacts.account_id "
               "AND interactions.contact_id = contacts.id)")


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('history_mark')
