"""Outlines (working and refreshed) and the per-application lock key of queued jobs.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _application_id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("application_id", Id,
                     sa.ForeignKey("applications.application_id", ondelete="CASCADE"),
                     primary_key=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lock_key", sa.String(120), nullable=True))
    op.create_index("ix_jobs_lock_key", "jobs", ["lock_key"])
    op.create_table(
        "outlines",
        _application_id(),
        sa.Column("stage", sa.Integer, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("alias_tables", sa.Text, nullable=False),
        sa.Column("next_id", sa.BigInteger, nullable=False),
        sa.Column("saved_at", sa.Float, nullable=False),
    )
    op.create_table(
        "outline_dimensions",
        _application_id(),
        sa.Column("stage", sa.Integer, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("root_id", sa.BigInteger, nullable=False),
        sa.Column("cubes", sa.Text, nullable=False),
        sa.Column("base_dimension", sa.String(80), nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_table(
        "outline_members",
        _application_id(),
        sa.Column("stage", sa.Integer, primary_key=True),
        sa.Column("dimension", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.BigInteger, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("parent_id", sa.BigInteger, nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("storage", sa.String(30), nullable=False),
        sa.Column("base_id", sa.BigInteger, nullable=True),
        sa.Column("properties", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("outline_members", "outline_dimensions", "outlines"):
        op.drop_table(table)
    op.drop_index("ix_jobs_lock_key", "jobs")
    # Not batch mode: on SQLite it would rebuild the table without AUTOINCREMENT (job ids
    # must never be reused); SQLite >= 3.35 drops a column in place.
    op.execute("ALTER TABLE jobs DROP COLUMN lock_key")
