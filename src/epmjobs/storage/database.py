"""Connections: one engine per process, write transactions, cheap reads.

SQLite (embedded): WAL, ``synchronous=NORMAL``, a busy timeout, and every write
transaction opened with ``BEGIN IMMEDIATE`` so two writers queue instead of failing on
a lock upgrade. Reads run in autocommit mode (WAL readers never block writers).
PostgreSQL (scaled out): psycopg 3, ordinary ``READ COMMITTED`` transactions.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

_BUSY_TIMEOUT_MS = 30_000


def _normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here, not SQLAlchemy's psycopg2 default."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """The process's handle on the database: transactions and reads."""

    normalise_url = staticmethod(_normalise_url)

    def __init__(self, url: str) -> None:
        self.url = self.normalise_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self.is_sqlite = self.dialect == "sqlite"
        self._sqlite_path: str | None = None
        if self.is_sqlite:
            self._sqlite_path = parsed.database or ":memory:"
            if self._sqlite_path != ":memory:":
                Path(self._sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20,
                                        pool_pre_ping=True)
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._local = threading.local()
        self._write_lock = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        On SQLite one thread per process at a time: the others queue on a Python lock
        (handed over at once) instead of in SQLite's busy handler, which sleeps 1, 2, 5,
        10 ... 100 ms between tries while the lock may already be free.
        """
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads only, in autocommit mode."""
        with self._reader.connect() as conn:
            yield conn

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (readiness)."""
        with self.reading() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()

    def raw_postgres(self) -> Any:
        """This thread's own autocommit psycopg connection with server-side prepared
        statements: the status poll's hot path on PostgreSQL (no pool checkout, no
        pre-ping, no SQL compilation: one round trip)."""
        conn = getattr(self._local, "raw_pg", None)
        if conn is None or conn.closed:
            import psycopg

            conn = psycopg.connect(self.libpq_url, autocommit=True, prepare_threshold=0)
            self._local.raw_pg = conn
        return conn

    def forget_raw_postgres(self) -> None:
        """Drop this thread's hot-path connection (after it failed); the next read
        opens a new one."""
        conn = getattr(self._local, "raw_pg", None)
        self._local.raw_pg = None
        if conn is not None:
            conn.close()

    @property
    def libpq_url(self) -> str:
        """This database's URL as libpq (psycopg, procrastinate) takes it."""
        return make_url(self.url).set(drivername="postgresql").render_as_string(
            hide_password=False)

    def raw_sqlite(self) -> sqlite3.Connection:
        """This thread's own read-only stdlib connection: the status poll's hot path."""
        conn: sqlite3.Connection | None = getattr(self._local, "raw", None)
        if conn is None:
            assert self._sqlite_path is not None
            conn = sqlite3.connect(self._sqlite_path, isolation_level=None,
                                   check_same_thread=False, timeout=30)
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only=ON")
            self._local.raw = conn
        return conn

    def dispose(self) -> None:
        raw = getattr(self._local, "raw", None)
        if raw is not None:
            raw.close()
            self._local.raw = None
        if getattr(self._local, "raw_pg", None) is not None:
            self.forget_raw_postgres()
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the stdlib driver; "begin" below does it.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        _begin_immediate(conn.connection.dbapi_connection)


def _begin_immediate(dbapi_conn: Any) -> None:
    """BEGIN IMMEDIATE, retried every 0.1-2 ms while another process writes (not SQLite's
    busy handler, whose sleeps grow to 100 ms); gives up after the busy timeout."""
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        delay = 0.0001
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
