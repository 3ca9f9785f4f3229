"""The first schema: applications, cubes, job definitions, jobs and their messages, users.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("application_id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("name_key", sa.String(80), nullable=False, unique=True),
        sa.Column("app_type", sa.String(20), nullable=False),
        sa.Column("admin_mode", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "cubes",
        sa.Column("cube_id", Id, primary_key=True, autoincrement=True),
        sa.Column("application_id", Id,
                  sa.ForeignKey("applications.application_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("name_key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("application_id", "name_key", name="uq_cubes_app_name"),
    )
    op.create_table(
        "job_definitions",
        sa.Column("definition_id", Id, primary_key=True, autoincrement=True),
        sa.Column("application_id", Id,
                  sa.ForeignKey("applications.application_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("job_type", sa.String(40), nullable=False),
        sa.Column("job_name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("plan_type", sa.String(80), nullable=True),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("application_id", "job_type", "name_key",
                            name="uq_jobdefs_app_type_name"),
    )
    op.create_table(
        "jobs",
        sa.Column("job_id", Id, primary_key=True, autoincrement=True),
        sa.Column("application_id", Id,
                  sa.ForeignKey("applications.application_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("job_type", sa.String(40), nullable=False),
        sa.Column("job_name", sa.String(200), nullable=True),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("details", sa.Text, nullable=True),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("worker_id", sa.String(80), nullable=True),
        sa.Column("heartbeat_at", sa.Float, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_app_job", "jobs", ["application_id", "job_id"])
    op.create_index("ix_jobs_submitted_at", "jobs", ["submitted_at"])
    op.create_table(
        "job_children",
        sa.Column("job_id", Id, sa.ForeignKey("jobs.job_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("child_id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("load_type", sa.String(40), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("records_read", sa.BigInteger, nullable=False),
        sa.Column("records_processed", sa.BigInteger, nullable=False),
        sa.Column("records_rejected", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "job_messages",
        sa.Column("job_id", Id, sa.ForeignKey("jobs.job_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("child_id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("msg_type", sa.String(10), nullable=False),
        sa.Column("category", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("record_number", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_job_messages_type", "job_messages",
                    ["job_id", "child_id", "msg_type", "seq"])
    op.create_table(
        "users",
        sa.Column("user_id", Id, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", Id, sa.ForeignKey("users.user_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    for table in ("tokens", "users", "job_messages", "job_children", "jobs",
                  "job_definitions", "cubes", "applications"):
        op.drop_table(table)
