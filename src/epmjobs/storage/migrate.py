"""Schema migrations, run programmatically: ``epmjobs migrate`` and on start.

Our tables migrate with Alembic. On PostgreSQL the job queue's tables (procrastinate's)
are installed and upgraded alongside, by procrastinate's own schema files
(``storage/queuestore.py``), so one ``epmjobs migrate`` readies a scaled-out database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from epmjobs.errors import SchemaMismatch
from epmjobs.storage import queuestore
from epmjobs.storage.database import Database

_SCRIPTS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.reading() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision this code knows."""
    cfg = _config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    if not db.is_sqlite:
        queuestore.upgrade(db)


def ensure_current(db: Database) -> None:
    """Refuse to run on a schema this version does not know (older or newer)."""
    current = current_revision(db)
    head = head_revision()
    if current != head:
        raise SchemaMismatch(
            f"The database schema is at revision {current or 'none'}, this epmjobs "
            f"needs {head}. Run 'epmjobs migrate'."
        )
    if not db.is_sqlite:
        queuestore.ensure_current(db)
