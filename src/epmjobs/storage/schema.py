"""The tables, in SQLAlchemy Core, for SQLite and PostgreSQL alike.

Migrations (``storage/migrations``) create exactly these; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid; BigInteger elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")

applications = Table(
    "applications",
    metadata,
    Column("application_id", Id, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False),
    Column("name_key", String(80), nullable=False, unique=True),
    Column("app_type", String(20), nullable=False),
    Column("admin_mode", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)

cubes = Table(
    "cubes",
    metadata,
    Column("cube_id", Id, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        Id,
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(80), nullable=False),
    Column("name_key", String(80), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("application_id", "name_key", name="uq_cubes_app_name"),
)

job_definitions = Table(
    "job_definitions",
    metadata,
    Column("definition_id", Id, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        Id,
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("job_type", String(40), nullable=False),
    Column("job_name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False),
    Column("plan_type", String(80), nullable=True),
    Column("parameters", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("application_id", "job_type", "name_key", name="uq_jobdefs_app_type_name"),
)

# The jobs table is also the embedded queue: a row with status -1 and no worker is queued.
jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Id, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        Id,
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("job_type", String(40), nullable=False),
    Column("job_name", String(200), nullable=True),
    Column("parameters", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("details", Text, nullable=True),
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker_id", String(80), nullable=True),
    Column("heartbeat_at", Float, nullable=True),
    # Jobs with the same lock key never run at the same time (e.g. "outline:<app id>").
    Column("lock_key", String(120), nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_jobs_status", jobs.c.status)
Index("ix_jobs_app_job", jobs.c.application_id, jobs.c.job_id)
Index("ix_jobs_submitted_at", jobs.c.submitted_at)
Index("ix_jobs_lock_key", jobs.c.lock_key)

job_children = Table(
    "job_children",
    metadata,
    Column("job_id", Id, ForeignKey("jobs.job_id", ondelete="CASCADE"), primary_key=True),
    Column("child_id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("load_type", String(40), nullable=False),
    Column("status", Integer, nullable=False),
    Column("records_read", BigInteger, nullable=False, default=0),
    Column("records_processed", BigInteger, nullable=False, default=0),
    Column("records_rejected", BigInteger, nullable=False, default=0),
)

job_messages = Table(
    "job_messages",
    metadata,
    Column("job_id", Id, ForeignKey("jobs.job_id", ondelete="CASCADE"), primary_key=True),
    Column("child_id", Integer, primary_key=True),  # 0 = the job itself
    Column("seq", Integer, primary_key=True),
    Column("msg_type", String(10), nullable=False),
    Column("category", String(80), nullable=False),
    Column("text", Text, nullable=False),
    Column("record_number", BigInteger, nullable=True),
)
Index("ix_job_messages_type", job_messages.c.job_id, job_messages.c.child_id,
      job_messages.c.msg_type, job_messages.c.seq)

users = Table(
    "users",
    metadata,
    Column("user_id", Id, primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False),
    Column("name_key", String(200), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=True),
    Column("role", String(40), nullable=False),
    Column("created_at", Float, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=True),
)

# Granular grants on top of a role, e.g. "Migrations - Administer" (file transfer).
user_grants = Table(
    "user_grants",
    metadata,
    Column("user_id", Id, ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    Column("grant_name", String(200), primary_key=True),
)

# An application's outline, kept twice: stage 0 is the working outline that metadata jobs
# edit, stage 1 the refreshed (deployed) one that data jobs read, copied from stage 0 by a
# cube refresh (storage/outlinestore.py). ``revision`` counts the saves of a stage, ``token``
# is unique per save (a cache key that survives an application id being reused).
outlines = Table(
    "outlines",
    metadata,
    Column("application_id", Id, ForeignKey("applications.application_id", ondelete="CASCADE"),
           primary_key=True),
    Column("stage", Integer, primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("token", String(32), nullable=False),
    Column("alias_tables", Text, nullable=False),
    Column("next_id", BigInteger, nullable=False),
    Column("saved_at", Float, nullable=False),
)

outline_dimensions = Table(
    "outline_dimensions",
    metadata,
    Column("application_id", Id, ForeignKey("applications.application_id", ondelete="CASCADE"),
           primary_key=True),
    Column("stage", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("type", String(20), nullable=False),
    Column("root_id", BigInteger, nullable=False),
    Column("cubes", Text, nullable=False),
    Column("base_dimension", String(80), nullable=True),
    Column("revision", Integer, nullable=False),  # the working revision that last wrote it
)

outline_members = Table(
    "outline_members",
    metadata,
    Column("application_id", Id, ForeignKey("applications.application_id", ondelete="CASCADE"),
           primary_key=True),
    Column("stage", Integer, primary_key=True),
    Column("dimension", Integer, primary_key=True),  # outline_dimensions.position
    Column("member_id", BigInteger, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("parent_id", BigInteger, nullable=True),
    Column("position", Integer, nullable=False),  # among its siblings
    Column("storage", String(30), nullable=False),
    Column("base_id", BigInteger, nullable=True),  # the base member of a shared instance
    Column("properties", Text, nullable=False),  # JSON: planning.outline.codec, no dataStorage
)

# Cube data (storage/cellstore.py): per cube, a header with the layout the cells are keyed
# by (dimension names and, per dimension, the member id of each node) and its revision,
# and the cells as chunks of sorted packed keys (int64) and values (float64), each chunk a
# pair of little-endian arrays. ``cube`` is the cube's name key (lower case).
cube_data = Table(
    "cube_data",
    metadata,
    Column("application_id", Id, ForeignKey("applications.application_id", ondelete="CASCADE"),
           primary_key=True),
    Column("cube", String(80), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("dimensions", Text, nullable=False),  # JSON: [[name, size], ...]
    Column("member_ids", LargeBinary, nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("cell_count", BigInteger, nullable=False),
    Column("saved_at", Float, nullable=False),
)

cube_chunks = Table(
    "cube_chunks",
    metadata,
    Column("application_id", Id, ForeignKey("applications.application_id", ondelete="CASCADE"),
           primary_key=True),
    Column("cube", String(80), primary_key=True),
    Column("first_key", BigInteger, primary_key=True),
    Column("cell_count", Integer, nullable=False),
    Column("cell_keys", LargeBinary, nullable=False),
    Column("cell_values", LargeBinary, nullable=False),
)

# Substitution variables (storage/variables.py): application-wide when plan_type_key is ''
# (plan_type 'ALL' on the wire), else for the cube whose name key it is.
substitution_variables = Table(
    "substitution_variables",
    metadata,
    Column("application_id", Id, ForeignKey("applications.application_id", ondelete="CASCADE"),
           primary_key=True),
    Column("plan_type_key", String(80), primary_key=True),
    Column("name_key", String(80), primary_key=True),
    Column("plan_type", String(80), nullable=False),
    Column("name", String(80), nullable=False),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)
