"""merge undo: what a merge overwrote (the winner's attributes, the loser's cart), so it can be undone exactly

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contact_merges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undo', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contact_merges', schema=None) as batch_op:
        batch_op.drop_column('undo')
