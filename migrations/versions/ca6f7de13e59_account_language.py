"""A staff account's console language

Revision ID: ca6f7de13e59
Revises: d775ed7dfa93
Create Date: 2026-12-04 23:02:25.924938

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "ca6f7de13e59"
down_revision = "d775ed7dfa93"
branch_labels = None
depends_on = None


def upgrade():
    # A constant server default: an instant add on PostgreSQL, no table rewrite.
    op.add_column(
        "account", sa.Column("language", sa.String(length=8), server_default="en", nullable=False)
    )


def downgrade():
    with op.batch_alter_table("account") as batch_op:
        batch_op.drop_column("language")
