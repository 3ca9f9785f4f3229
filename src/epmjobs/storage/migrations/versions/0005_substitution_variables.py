"""Substitution variables, per application (plan_type_key '') or per cube.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "substitution_variables",
        sa.Column("application_id", Id,
                  sa.ForeignKey("applications.application_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("plan_type_key", sa.String(80), primary_key=True),
        sa.Column("name_key", sa.String(80), primary_key=True),
        sa.Column("plan_type", sa.String(80), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("substitution_variables")
