"""attribution: the recommendation log, A/B variants of data sources, ended experiments, console sessions

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('datasources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variants', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('experiment_started_at', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('variant_seq', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('recom_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant_id', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('recommendation_id', Id, nullable=True))
        batch_op.create_index('ix_recom_events_account_contact_product_ts',
                              ['account_id', 'contact_id', 'product_id', 'ts'], unique=False)
    op.create_table('recommendation_log',
    sa.Column('id', Id, autoincrement=False, nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('datasource_id', Id, nullable=False),
    sa.Column('variant_id', sa.SmallInteger(), nullable=False),
    sa.Column('contact_id', Id, nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_log'))
    )
    with op.batch_alter_table('recommendation_log', schema=None) as batch_op:
        batch_op.create_index('ix_recommendation_log_account_datasource_ts', ['account_id', 'datasource_id', 'ts'],
                              unique=False)
    op.create_table('experiments',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('datasource_id', Id, nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('ended_at', sa.BigInteger(), nullable=False),
    sa.Column('winner', sa.SmallInteger(), nullable=False),
    sa.Column('variants', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments'))
    )
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.create_index('ix_experiments_account_datasource', ['account_id', 'datasource_id'], unique=False)
    op.create_table('console_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('key_id', Id, nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_console_sessions'))
    )


def downgrade() -> None:
    op.drop_table('console_sessions')
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_index('ix_experiments_account_datasource')
    op.drop_table('experiments')
    with op.batch_alter_table('recommendation_log', schema=None) as batch_op:
        batch_op.drop_index('ix_recommendation_log_account_datasource_ts')
    op.drop_table('recommendation_log')
    with op.batch_alter_table('recom_events', schema=None) as batch_op:
        batch_op.drop_index('ix_recom_events_account_contact_product_ts')
        batch_op.drop_column('recommendation_id')
        batch_op.drop_column('variant_id')
    with op.batch_alter_table('datasources', schema=None) as batch_op:
        batch_op.drop_column('variant_seq')
        batch_op.drop_column('experiment_started_at')
        batch_op.drop_column('variants')
