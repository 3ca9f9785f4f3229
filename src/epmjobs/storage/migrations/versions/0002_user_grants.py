"""Granular grants per user (e.g. Migrations - Administer for file transfer).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user_grants",
        sa.Column("user_id", Id, sa.ForeignKey("users.user_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("grant_name", sa.String(200), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("user_grants")
