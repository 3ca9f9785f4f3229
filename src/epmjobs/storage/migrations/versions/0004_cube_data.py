"""Cube data: a header per cube and its cells in chunks.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("application_id", Id,
                      sa.ForeignKey("applications.application_id", ondelete="CASCADE"),
                      primary_key=True),
            sa.Column("cube", sa.String(80), primary_key=True)]


def upgrade() -> None:
    op.create_table(
        "cube_data",
        *_key(),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("dimensions", sa.Text, nullable=False),
        sa.Column("member_ids", sa.LargeBinary, nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("cell_count", sa.BigInteger, nullable=False),
        sa.Column("saved_at", sa.Float, nullable=False),
    )
    op.create_table(
        "cube_chunks",
        *_key(),
        sa.Column("first_key", sa.BigInteger, primary_key=True),
        sa.Column("cell_count", sa.Integer, nullable=False),
        sa.Column("cell_keys", sa.LargeBinary, nullable=False),
        sa.Column("cell_values", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cube_chunks")
    op.drop_table("cube_data")
