"""a contact's identifiers by (account, contact): PostgreSQL read every identifier of the account for a
merge's update (it preferred the key's account prefix to the contact_id index)

Revision ID: 0008
Revises: 0007
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contact_identifiers', schema=None) as batch_op:
        batch_op.create_index('ix_contact_identifiers_account_contact', ['account_id', 'contact_id'], unique=False)
        batch_op.drop_index('ix_contact_identifiers_contact_id')


def downgrade() -> None:
    with op.batch_alter_table('contact_identifiers', schema=None) as batch_op:
        batch_op.create_index('ix_contact_identifiers_contact_id', ['contact_id'], unique=False)
        batch_op.drop_index('ix_contact_identifiers_account_contact')
