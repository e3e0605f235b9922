"""a parcel keeps its recipient's own quiet hours

Revision ID: d775ed7dfa93
Revises: 95cde8af1ad5
Create Date: 2026-12-04 22:24:43.421902

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd775ed7dfa93'
down_revision = '95cde8af1ad5'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns without a default: a catalogue change on PostgreSQL, ADD COLUMN on
    # SQLite (no table rebuild, so its expression index stays).
    op.add_column('parcel', sa.Column('quiet_start', sa.Integer(), nullable=True))
    op.add_column('parcel', sa.Column('quiet_end', sa.Integer(), nullable=True))


def downgrade():
    # SQLite rebuilds the table to drop columns and can't carry the expression index across.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.drop_index('ix_parcel_recipient_email', table_name='parcel')
    with op.batch_alter_table('parcel', schema=None) as batch_op:
        batch_op.drop_column('quiet_end')
        batch_op.drop_column('quiet_start')
    if sqlite:
        op.create_index(
            'ix_parcel_recipient_email', 'parcel', [sa.text('lower(recipient_email)')], unique=False
        )
