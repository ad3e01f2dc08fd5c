"""the platform's integrations: anonymous orders, site domains, recommendation events

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.alter_column('contact_id', existing_type=Id, nullable=True)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('contact_id', existing_type=Id, nullable=True)
    op.create_table('site_domains',
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_site_domains_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('domain', name=op.f('pk_site_domains'))
    )
    with op.batch_alter_table('site_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_domains_account_id'), ['account_id'], unique=False)
    op.create_table('recom_events',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('account_id', Id, nullable=False),
    sa.Column('datasource_id', Id, nullable=True),
    sa.Column('variant', sa.String(length=64), nullable=False),
    sa.Column('contact_id', Id, nullable=True),
    sa.Column('product_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recom_events'))
    )
    with op.batch_alter_table('recom_events', schema=None) as batch_op:
        batch_op.create_index('ix_recom_events_account_datasource_ts', ['account_id', 'datasource_id', 'ts'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recom_events', schema=None) as batch_op:
        batch_op.drop_index('ix_recom_events_account_datasource_ts')
    op.drop_table('recom_events')
    with op.batch_alter_table('site_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_domains_account_id'))
    op.drop_table('site_domains')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('contact_id', existing_type=Id, nullable=False)
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.alter_column('contact_id', existing_type=Id, nullable=False)
