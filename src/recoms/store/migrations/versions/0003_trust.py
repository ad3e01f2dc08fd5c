"""trust: feed imports as jobs, verified identifiers, undoable merges, identity claims, event keys

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('feed_imports', schema=None) as batch_op:
        batch_op.alter_column('finished_at', existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('error', sa.String(length=500), nullable=True))
    with op.batch_alter_table('contact_identifiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('origin_contact_id', Id, nullable=True))
    for table in ('interactions', 'orders'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('origin_contact_id', Id, nullable=True))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_contact_id', Id, nullable=True))
        batch_op.add_column(sa.Column('event_key', sa.String(length=100), nullable=True))
        batch_op.create_index('ux_events_account_event_key', ['account_id', 'event_key'], unique=True)
    op.create_table('contact_merges',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('loser_id', Id, nullable=False),
    sa.Column('winner_id', Id, nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('undone_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_merges'))
    )
    with op.batch_alter_table('contact_merges', schema=None) as batch_op:
        batch_op.create_index('ix_contact_merges_account_winner', ['account_id', 'winner_id'], unique=False)
        batch_op.create_index('ix_contact_merges_account_loser', ['account_id', 'loser_id'], unique=False)
    op.create_table('contact_claims',
    sa.Column('account_id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=False),
    sa.Column('claimed_id', Id, nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'contact_id', 'claimed_id', name=op.f('pk_contact_claims'))
    )
    with op.batch_alter_table('contact_claims', schema=None) as batch_op:
        batch_op.create_index('ix_contact_claims_account_claimed', ['account_id', 'claimed_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_claims_account_claimed')
    op.drop_table('contact_claims')
    with op.batch_alter_table('contact_merges', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_merges_account_loser')
        batch_op.drop_index('ix_contact_merges_account_winner')
    op.drop_table('contact_merges')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ux_events_account_event_key')
        batch_op.drop_column('event_key')
        batch_op.drop_column('origin_contact_id')
    for table in ('orders', 'interactions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('origin_contact_id')
    with op.batch_alter_table('contact_identifiers', schema=None) as batch_op:
        batch_op.drop_column('origin_contact_id')
        batch_op.drop_column('verified')
    with op.batch_alter_table('feed_imports', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('status')
        batch_op.alter_column('finished_at', existing_type=sa.BigInteger(), nullable=False)
