"""tokens: one row per chain, exchanged by one update (tokens issued before this stop working: 401)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('token_chains',
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('chain_hash', name=op.f('pk_token_chains')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('token_chains', schema=None) as batch_op:
        batch_op.create_index('ix_token_chains_account_contact', ['account_id', 'contact_id'], unique=False)
    op.drop_table('revoked_chains')
    op.drop_table('tokens')


def downgrade() -> None:
    op.create_table('tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=False),
    sa.Column('chain_id', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('used_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_tokens')),
    sqlite_with_rowid=False
    )
    op.create_table('revoked_chains',
    sa.Column('chain_id', sa.String(length=32), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_revoked_chains')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('token_chains', schema=None) as batch_op:
        batch_op.drop_index('ix_token_chains_account_contact')
    op.drop_table('token_chains')
