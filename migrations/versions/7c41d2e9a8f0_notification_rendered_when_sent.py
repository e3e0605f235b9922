"""Cheaper carrier event batches: messages rendered when sent, fewer index writes

notification.rendered: status messages queued by a carrier's batch get their text from the
worker. Parcel updates (one per event) no longer write ix_parcel_merchant_id and
ix_parcel_zone_id, which the (merchant_id, order_ref) and (zone_id, eta_from) indexes cover, nor
ix_parcel_carrier_id, which no query uses (a carrier has most parcels); and a parcel's events no
longer add NULL entries to the returns' event index.

Revision ID: 7c41d2e9a8f0
Revises: 32b7fb1514ce
Create Date: 2026-11-29 10:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c41d2e9a8f0'
down_revision = '32b7fb1514ce'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('rendered', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table('parcel', schema=None) as batch_op:
        batch_op.drop_index('ix_parcel_merchant_id')
        batch_op.drop_index('ix_parcel_zone_id')
        batch_op.drop_index('ix_parcel_carrier_id')
    with op.batch_alter_table('tracking_event', schema=None) as batch_op:
        batch_op.drop_index('ix_tracking_event_return_occurred')
        batch_op.create_index(
            'ix_tracking_event_return_occurred',
            ['return_id', 'occurred_at'],
            unique=False,
            postgresql_where=sa.text('return_id IS NOT NULL'),
            sqlite_where=sa.text('return_id IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('tracking_event', schema=None) as batch_op:
        batch_op.drop_index('ix_tracking_event_return_occurred')
        batch_op.create_index(
            'ix_tracking_event_return_occurred', ['return_id', 'occurred_at'], unique=False
        )
    with op.batch_alter_table('parcel', schema=None) as batch_op:
        batch_op.create_index('ix_parcel_carrier_id', ['carrier_id'], unique=False)
        batch_op.create_index('ix_parcel_zone_id', ['zone_id'], unique=False)
        batch_op.create_index('ix_parcel_merchant_id', ['merchant_id'], unique=False)
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('rendered')
