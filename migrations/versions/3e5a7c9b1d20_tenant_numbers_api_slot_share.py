"""Tracking numbers unique per merchant (not globally); each merchant's share of a slot's
capacity for API bookings, counted through an index of the bookings that hold a slot place

One merchant could create a parcel under another's number (or a return's) first and block
it; carrier events now match by carrier + number and refuse a number that is ambiguous.

Revision ID: 3e5a7c9b1d20
Revises: f11c93018415
Create Date: 2026-12-04 08:45:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "3e5a7c9b1d20"
down_revision = "f11c93018415"
branch_labels = None
depends_on = None


def _rebuild_parcel_table(change):
    # SQLite rebuilds the table for a constraint change and can't carry an expression index
    # across it; drop that index around the rebuild.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index("ix_parcel_recipient_email", table_name="parcel")
    with op.batch_alter_table("parcel", schema=None) as batch_op:
        change(batch_op)
    if sqlite:
        op.create_index(
            "ix_parcel_recipient_email", "parcel", [sa.text("lower(recipient_email)")], unique=False
        )


HOLDING = "superseded_at IS NULL AND released_at IS NULL"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql_without_blocking_writes()
    else:
        _upgrade_parcel_and_choice_indexes()
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("api_slot_share", sa.Integer(), server_default=sa.text("50"), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_merchant_api_slot_share_percent"),
            "api_slot_share >= 1 AND api_slot_share <= 100",
        )


def _upgrade_parcel_and_choice_indexes():
    def change(batch_op):
        batch_op.drop_constraint("uq_parcel_tracking_number", type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_parcel_merchant_id_tracking_number"), ["merchant_id", "tracking_number"]
        )
        batch_op.create_index("ix_parcel_tracking_number", ["tracking_number"], unique=False)

    _rebuild_parcel_table(change)
    op.create_index(
        "ix_delivery_choice_slot_holding",
        "delivery_choice",
        ["slot_id"],
        unique=False,
        sqlite_where=sa.text(HOLDING),
    )


def _upgrade_postgresql_without_blocking_writes():
    # The release runs this while the old release serves (README, "Releasing a new version"):
    # a plain CREATE INDEX holds parcel writes for the whole build, which grows with the
    # table. CONCURRENTLY can't run in a transaction, so these three run outside Alembic's,
    # and a build that failed half-way (an INVALID index) is dropped and made again.
    with op.get_context().autocommit_block():
        for name, table, spec in (
            ("uq_parcel_merchant_id_tracking_number", "parcel", "(merchant_id, tracking_number)"),
            ("ix_parcel_tracking_number", "parcel", "(tracking_number)"),
            ("ix_delivery_choice_slot_holding", "delivery_choice", f"(slot_id) WHERE {HOLDING}"),
        ):
            unique = "UNIQUE " if name.startswith("uq_") else ""
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE {unique}INDEX CONCURRENTLY {name} ON {table} {spec}")
    # Swapping the constraints takes the table's lock only for a moment: the index is built.
    # Waiting for that lock behind a long reader would queue every parcel read and write behind
    # this; rather give up (the migration fails, nothing changed) and let the operator rerun.
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute(
        "ALTER TABLE parcel ADD CONSTRAINT uq_parcel_merchant_id_tracking_number "
        "UNIQUE USING INDEX uq_parcel_merchant_id_tracking_number"
    )
    op.execute("ALTER TABLE parcel DROP CONSTRAINT uq_parcel_tracking_number")


def downgrade():
    op.drop_index("ix_delivery_choice_slot_holding", table_name="delivery_choice")
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_merchant_api_slot_share_percent"), type_="check")
        batch_op.drop_column("api_slot_share")

    # Fails if two merchants now share a number, which is what a downgrade must not hide.
    def change(batch_op):
        batch_op.drop_index("ix_parcel_tracking_number")
        batch_op.drop_constraint(op.f("uq_parcel_merchant_id_tracking_number"), type_="unique")
        batch_op.create_unique_constraint("uq_parcel_tracking_number", ["tracking_number"])

    _rebuild_parcel_table(change)
