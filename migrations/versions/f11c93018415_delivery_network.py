"""Delivery network run by operators: zone cutoff, closed days, carriers' pickup points with
external ids, closing slots and points, versions for concurrent edits

Slot templates are matched by zone + weekday + start + vehicle (two vehicles may start at the
same time), so dated slots are unique per vehicle too.

Revision ID: f11c93018415
Revises: 7c41d2e9a8f0
Create Date: 2026-12-04 05:06:56.686815

"""
import sqlalchemy as sa
from alembic import op

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'f11c93018415'
down_revision = '7c41d2e9a8f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('closed_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=120), nullable=False),
    sa.Column('created_at', portal.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['zone_id'], ['zone.id'], name=op.f('fk_closed_day_zone_id_zone'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closed_day')),
    sa.UniqueConstraint('zone_id', 'day', name=op.f('uq_closed_day_zone_id_day'))
    )
    with op.batch_alter_table('pickup_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('country', sa.String(length=2), server_default='SE', nullable=False))
        batch_op.add_column(sa.Column('closed_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('updated_at', portal.models.types.UTCDateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.create_index('ix_pickup_point_lat_lon', ['latitude', 'longitude'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_pickup_point_carrier_id_external_id'), ['carrier_id', 'external_id'])
        batch_op.create_foreign_key(batch_op.f('fk_pickup_point_carrier_id_carrier'), 'carrier', ['carrier_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_pickup_point_latitude_range'), 'latitude BETWEEN -90 AND 90')
        batch_op.create_check_constraint(batch_op.f('ck_pickup_point_longitude_range'), 'longitude BETWEEN -180 AND 180')
        batch_op.create_check_constraint(batch_op.f('ck_pickup_point_closed_period_order'), 'closed_until IS NULL OR (closed_from IS NOT NULL AND closed_until >= closed_from)')

    with op.batch_alter_table('slot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', portal.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_reason', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_slot_zone_id_starts_at'), type_='unique')
        batch_op.create_index(batch_op.f('ix_slot_template_id'), ['template_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_slot_zone_id_starts_at_vehicle'), ['zone_id', 'starts_at', 'vehicle'])
        batch_op.create_foreign_key(batch_op.f('fk_slot_template_id_slot_template'), 'slot_template', ['template_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('slot_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_slot_template_zone_id_weekday_start_time'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_slot_template_zone_id_weekday_start_time_vehicle'), ['zone_id', 'weekday', 'start_time', 'vehicle'])

    with op.batch_alter_table('zone', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cutoff', sa.Time(), server_default=sa.text("'18:00:00'"), nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False))



def downgrade():
    with op.batch_alter_table('zone', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('cutoff')

    with op.batch_alter_table('slot_template', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_slot_template_zone_id_weekday_start_time_vehicle'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_slot_template_zone_id_weekday_start_time'), ['zone_id', 'weekday', 'start_time'])
        batch_op.drop_column('version')

    with op.batch_alter_table('slot', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_slot_template_id_slot_template'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_slot_zone_id_starts_at_vehicle'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_slot_template_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_slot_zone_id_starts_at'), ['zone_id', 'starts_at'])
        batch_op.drop_column('closed_reason')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('template_id')

    with op.batch_alter_table('pickup_point', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_pickup_point_closed_period_order'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_pickup_point_longitude_range'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_pickup_point_latitude_range'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_pickup_point_carrier_id_carrier'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_pickup_point_carrier_id_external_id'), type_='unique')
        batch_op.drop_index('ix_pickup_point_lat_lon')
        batch_op.drop_column('version')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('closed_reason')
        batch_op.drop_column('closed_until')
        batch_op.drop_column('closed_from')
        batch_op.drop_column('country')
        batch_op.drop_column('external_id')
        batch_op.drop_column('carrier_id')

    op.drop_table('closed_day')
